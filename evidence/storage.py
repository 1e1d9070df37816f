"""Evidence files stored under their SHA-256: the same bytes are stored once, never replaced.

A file's name is ``evidence/sha256/<first two hex digits>/<hash><suffix>``. Storing bytes
whose name already exists writes nothing (the content is the same, by its name), so no
capture or upload can overwrite what is held. Reading back checks the hash.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.core.files.storage import Storage, default_storage
from django.db import connection

PREFIX = "evidence/sha256"
CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Stored:
    name: str
    sha256: str
    size_bytes: int


def content_name(sha256: str, suffix: str) -> str:
    return f"{PREFIX}/{sha256[:2]}/{sha256}{suffix}"


def lock_content(sha256: str) -> None:
    """Serialise, until the transaction ends, everyone storing or purging these bytes: the
    purge deletes a file only when no held evidence uses it, and a new use must commit
    first or wait (call inside a transaction)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [int(sha256[:15], 16)])


def evidence_store(data: bytes, *, suffix: str, storage: Storage | None = None) -> Stored:
    """Keep ``data`` under its hash; an existing file of that name is left as it is.

    Call inside the transaction that records the evidence using it (``lock_content``).
    """
    storage = storage or default_storage
    sha256 = hashlib.sha256(data).hexdigest()
    lock_content(sha256)
    name = content_name(sha256, suffix)
    if not storage.exists(name):
        saved = storage.save(name, ContentFile(data))
        if saved != name:  # a file of that name appeared in between: keep the first
            storage.delete(saved)
    return Stored(name=name, sha256=sha256, size_bytes=len(data))


def file_sha256(name: str, *, storage: Storage | None = None) -> str:
    """The SHA-256 of a stored file, read in chunks (a WARC can be large)."""
    digest = hashlib.sha256()
    for chunk in _chunks(name, storage or default_storage):
        digest.update(chunk)
    return digest.hexdigest()


def _chunks(name: str, storage: Storage) -> Iterator[bytes]:
    with storage.open(name, "rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk
