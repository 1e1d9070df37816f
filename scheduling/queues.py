"""How much work waits in the broker, read without ever hanging or failing the health page.

Redis: the length of the default queue's lists (kombu keeps one list per
priority step) plus kombu's hash of delivered-but-unacknowledged messages.
Filesystem broker (the embedded default): the message files in its folder.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

logger = logging.getLogger(__name__)

# kombu's Redis transport: one list per priority step ("celery", "celery\x06\x163", ...)
# and the hash holding messages a worker has fetched but not acknowledged yet.
_PRIORITY_SEPARATOR = "\x06\x16"
_PRIORITY_STEPS = (0, 3, 6, 9)
_UNACKED_KEY = "unacked"
READ_TIMEOUT_SECONDS = 0.5


@dataclass(frozen=True)
class QueueLength:
    broker: str
    queued: int | None = None
    unacked: int | None = None
    # Why the numbers are missing ("unavailable: ..."), shown instead of them.
    problem: str = ""

    @property
    def available(self) -> bool:
        return self.queued is not None


def _queue_name() -> str:
    return str(getattr(settings, "CELERY_TASK_DEFAULT_QUEUE", "celery"))


def broker_queue_length() -> QueueLength:
    url = str(settings.CELERY_BROKER_URL or "")
    if url.startswith(("redis://", "rediss://")):
        return _redis_queue_length(url)
    if url.startswith("filesystem://"):
        return _filesystem_queue_length()
    return QueueLength(broker=url.partition(":")[0] or "none", problem="not measured")


def _redis_queue_length(url: str) -> QueueLength:
    import redis

    queue = _queue_name()
    keys = [f"{queue}{_PRIORITY_SEPARATOR}{step}" if step else queue for step in _PRIORITY_STEPS]
    client = redis.Redis.from_url(
        url,
        socket_connect_timeout=READ_TIMEOUT_SECONDS,
        socket_timeout=READ_TIMEOUT_SECONDS,
        retry_on_timeout=False,
    )
    try:
        pipe = client.pipeline(transaction=False)
        for key in keys:
            pipe.llen(key)
        pipe.hlen(_UNACKED_KEY)
        *lengths, unacked = pipe.execute()
    except redis.RedisError as error:
        logger.warning("Health page: Redis unavailable for the queue length: %s", error)
        return QueueLength(broker="redis", problem=f"unavailable ({type(error).__name__})")
    finally:
        client.close()
    return QueueLength(broker="redis", queued=sum(int(n) for n in lengths), unacked=int(unacked))


def _filesystem_queue_length() -> QueueLength:
    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}) or {}
    folder = options.get("data_folder_in")
    if not folder:
        return QueueLength(broker="filesystem", problem="unavailable (no data folder)")
    try:
        # The filesystem transport moves a message out of the folder when a worker
        # fetches it: there is no "unacknowledged" count to read.
        suffix = f".{_queue_name()}.msg"  # kombu names them "<ms>_<uuid>.<queue>.msg"
        queued = sum(1 for entry in Path(folder).iterdir() if entry.name.endswith(suffix))
    except OSError as error:
        return QueueLength(broker="filesystem", problem=f"unavailable ({error.strerror})")
    return QueueLength(broker="filesystem", queued=queued)
