"""Gunicorn's logger with portal tokens redacted from every access-log atom and error line.

The staff image (Dockerfile) logs request paths, and the embedded portal is
mounted at ``/r/`` there too; ``--logger-class portal.gunicorn_logging.RedactingLogger``
makes sure no ``/r/<token>`` reaches the access log, whatever the log format
(path ``%(U)s``, request line ``%(r)s``, referer ``%(f)s``, any header).
"""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger

from portal.logfilters import RedactPortalTokens, redact_portal_tokens


class RedactingLogger(Logger):
    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        # Gunicorn's error log names the path of a request that crashed a worker.
        self.error_log.addFilter(RedactPortalTokens())
        self.access_log.addFilter(RedactPortalTokens())

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        atoms = super().atoms(resp, req, environ, request_time)
        return {
            key: redact_portal_tokens(value) if isinstance(value, str) else value
            for key, value in atoms.items()
        }
