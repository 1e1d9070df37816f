"""A capture as a WARC file (ISO 28500, WARC/1.1) written with warcio.

One ``warcinfo`` record (the software and the operator), then for every HTTP exchange
of the capture (each redirect hop and the final page) a ``request`` and a ``response``
record with the bytes as they came over the wire (still compressed if the server
compressed them), then one ``metadata`` record: which item, who asked, when, from where.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

SOFTWARE = "Takedown Desk evidence capture"


@dataclass(frozen=True)
class Exchange:
    """One HTTP request and the response to it."""

    url: str
    at: datetime
    request_headers: list[tuple[str, str]]
    http_version: str
    status: int
    reason: str
    response_headers: list[tuple[str, str]]
    body: bytes  # as received (Content-Encoding kept)
    peer_address: str = ""


@dataclass(frozen=True)
class CaptureRecord:
    """What the metadata record says about the capture."""

    item_id: int
    url: str
    requested_by: str
    requested_at: datetime
    captured_at: datetime
    extra: dict[str, Any] = field(default_factory=dict)


def _iso(at: datetime) -> str:
    """WARC-Date: UTC with microseconds (WARC/1.1 allows the fraction)."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def warc_bytes(exchanges: list[Exchange], record: CaptureRecord) -> bytes:
    """The whole capture as one gzipped WARC file (a gzip member per record)."""
    output = io.BytesIO()
    writer = WARCWriter(output, gzip=True, warc_version="WARC/1.1")
    writer.write_record(
        writer.create_warcinfo_record(
            f"item-{record.item_id}.warc.gz",
            {"software": SOFTWARE, "format": "WARC File Format 1.1", "isPartOf": "takedown-desk"},
        )
    )
    for exchange in exchanges:
        target = urlsplit(exchange.url)
        path = (target.path or "/") + (f"?{target.query}" if target.query else "")
        warc_date = {"WARC-Date": _iso(exchange.at)}
        request = writer.create_warc_record(
            exchange.url,
            "request",
            http_headers=StatusAndHeaders(
                f"GET {path} {exchange.http_version}",
                exchange.request_headers,
                is_http_request=True,
            ),
            warc_headers_dict=warc_date,
        )
        response_warc_headers = dict(warc_date)
        if exchange.peer_address:
            response_warc_headers["WARC-IP-Address"] = exchange.peer_address
        response = writer.create_warc_record(
            exchange.url,
            "response",
            payload=io.BytesIO(exchange.body),
            length=len(exchange.body),
            http_headers=StatusAndHeaders(
                f"{exchange.status} {exchange.reason}".strip(),
                exchange.response_headers,
                protocol=exchange.http_version,
            ),
            warc_headers_dict=response_warc_headers,
        )
        writer.write_request_response_pair(request, response)
    metadata = {
        "item": record.item_id,
        "url": record.url,
        "requested_by": record.requested_by,
        "requested_at": record.requested_at.isoformat(),
        "captured_at": record.captured_at.isoformat(),
        "hops": [exchange.url for exchange in exchanges],
        **record.extra,
    }
    writer.write_record(
        writer.create_warc_record(
            record.url,
            "metadata",
            payload=io.BytesIO(json.dumps(metadata, sort_keys=True).encode()),
            warc_content_type="application/json",
            warc_headers_dict={"WARC-Date": _iso(record.captured_at)},
        )
    )
    return output.getvalue()
