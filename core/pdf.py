"""HTML to PDF with WeasyPrint, fetching nothing but the desk's own static files.

Used by the transparency report (metrics) and the removal order document (cases).
"""

from __future__ import annotations

import mimetypes
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders

# The PDF's relative links resolve against this made-up origin; the fetcher below maps
# its /static/ paths to files on disk and refuses everything else (no network, ever).
_PDF_BASE_URL = "https://desk.invalid/"


def local_static_fetcher(url: str) -> dict[str, Any]:
    """WeasyPrint's url_fetcher: our own static files from disk; anything else is refused."""
    parts = urlsplit(url)
    static_prefix = settings.STATIC_URL if settings.STATIC_URL.startswith("/") else "/static/"
    if f"{parts.scheme}://{parts.netloc}/" != _PDF_BASE_URL or not parts.path.startswith(
        static_prefix
    ):
        raise ValueError(f"The report PDF fetches nothing from {url!r}.")
    relative = parts.path.removeprefix(static_prefix)
    if ".." in relative.split("/"):
        raise ValueError(f"No static file {relative!r}.")
    found = finders.find(relative)
    if not found:
        raise ValueError(f"No static file {relative!r}.")
    path = found if isinstance(found, str) else found[0]
    with open(path, "rb") as handle:  # noqa: PTH123 - finders return a str path
        data = handle.read()
    return {"string": data, "mime_type": mimetypes.guess_type(path)[0] or "text/css"}


def render_pdf(html: str) -> bytes:
    import weasyprint  # heavy (pango); only the PDF view loads it
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class LocalStaticFetcher(URLFetcher):
        """WeasyPrint's fetcher with its network side replaced by ``local_static_fetcher``."""

        def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
            found = local_static_fetcher(url)
            return URLFetcherResponse(url, found["string"], {"Content-Type": found["mime_type"]})

    fetcher = LocalStaticFetcher(allowed_protocols=())
    document = weasyprint.HTML(string=html, base_url=_PDF_BASE_URL, url_fetcher=fetcher)
    return bytes(document.write_pdf())
