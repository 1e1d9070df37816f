"""Secrets kept only as a hash (portal links, API tokens): one way of hashing them."""

from __future__ import annotations

import hashlib


def hash_token(token: str) -> str:
    """SHA-256 of the token, hex. The tokens are 256 random bits, so no salt or slow hash
    is needed: nobody can guess one from its hash."""
    return hashlib.sha256(token.encode("utf-8", errors="surrogatepass")).hexdigest()
