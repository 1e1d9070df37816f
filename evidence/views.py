"""The item's evidence page, "Capture now", uploads and downloads. Thin: services decide."""

from __future__ import annotations

from pathlib import PurePosixPath

from django.contrib import messages
from django.http import FileResponse, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from cases.models import Evidence, Item
from core.decorators import staff_view
from core.errors import DomainError, PermissionRefused
from evidence.forms import EvidenceUploadForm
from evidence.selectors import evidence_for_item
from evidence.services import evidence_capture_request, evidence_upload


def _page(
    request: HttpRequest, item: Item, form: EvidenceUploadForm | None = None, status: int = 200
) -> HttpResponse:
    return render(
        request,
        "evidence/item.html",
        {
            "item": item,
            **evidence_for_item(item),
            "form": form or EvidenceUploadForm(),
            "can_add": request.user.has_perm("cases.add_evidence"),
        },
        status=status,
    )


@require_GET
@staff_view("cases.view_evidence")
def item_evidence(request: HttpRequest, pk: int) -> HttpResponse:
    return _page(request, get_object_or_404(Item, pk=pk))


@require_POST
@staff_view("cases.add_evidence")
def capture_now(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(Item, pk=pk)
    evidence_capture_request(item=item, by=request.user)
    messages.success(request, _("The URL will be captured within a minute or two."))
    return redirect("evidence:item", pk=item.pk)


@require_POST
@staff_view("cases.add_evidence")
def upload(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(Item, pk=pk)
    form = EvidenceUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _page(request, item, form, status=400)
    data = form.cleaned_data
    try:
        evidence = evidence_upload(
            item=item,
            uploaded=data["file"],
            kind=data["kind"],
            description=data["description"],
            captured_at=data["captured_at"],
            by=request.user,
        )
    except PermissionRefused:
        raise
    except DomainError as refused:
        form.add_error("file", refused.message)
        return _page(request, item, form, status=400)
    messages.success(request, _("Kept as evidence, SHA-256 %(sha)s.") % {"sha": evidence.sha256})
    return redirect("evidence:item", pk=item.pk)


@require_GET
@staff_view("cases.view_evidence")
def download(request: HttpRequest, pk: int) -> HttpResponseBase:
    evidence = get_object_or_404(Evidence.objects.select_related("item"), pk=pk)
    if evidence.purged_at is not None:
        return render(request, "evidence/purged.html", {"evidence": evidence}, status=410)
    try:
        handle = evidence.file.open("rb")
    except FileNotFoundError:
        return render(request, "evidence/missing.html", {"evidence": evidence}, status=404)
    # The stored name is the hash plus the file's suffixes (".warc.gz", ".png").
    suffix = "".join(PurePosixPath(evidence.file.name).suffixes)
    # Always a download, never shown: an uploaded file may be HTML or SVG with scripts.
    return FileResponse(
        handle,
        as_attachment=True,
        filename=f"item-{evidence.item_id}-{evidence.sha256[:16]}{suffix}",
        content_type="application/octet-stream",
    )
