"""Forms for intake (paste, one URL, CSV), approvals, holds, and opening a case."""

from __future__ import annotations

import csv
import io
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from cases.forms import StyledForm
from cases.models import Actor, Case, CaseStatus, ItemCategory, LegalBasis
from cases.services.intake import MAX_URLS, IntakeLine
from platforms.urlnorm import MAX_URL_LENGTH

NOTE_MAX_LENGTH = 10_000
# A paste of 5,000 long URLs with prose around them; Django's own request size limit
# (DATA_UPLOAD_MAX_MEMORY_SIZE, 2.5 MB) stops anything much bigger before the form sees it.
PASTE_MAX_LENGTH = 2_000_000
MAX_CSV_BYTES = 5 * 1024 * 1024
MAX_CSV_ROWS = 5_000

# --- intake -----------------------------------------------------------------------------------


class IntakeAttributesForm(StyledForm):
    """What the officer sets for every URL of one intake."""

    case = forms.ModelChoiceField(
        queryset=Case.objects.filter(status=CaseStatus.OPEN).order_by("-created_at", "-id"),
        required=False,
        empty_label=_("(no case)"),
        label=_("Case"),
    )
    actor = forms.ModelChoiceField(
        queryset=Actor.objects.order_by("name"),
        required=False,
        empty_label=_("(the case's actor, if any)"),
        label=_("Actor"),
    )
    category = forms.ChoiceField(
        choices=ItemCategory.choices, initial=ItemCategory.PROPAGANDA, label=_("Category")
    )
    legal_basis = forms.ChoiceField(
        choices=LegalBasis.choices, initial=LegalBasis.TERMS_OF_SERVICE, label=_("Legal basis")
    )
    assessment_note = forms.CharField(
        required=False,
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        label=_("Assessment note"),
        help_text=_("Why this content is terrorist content; the operator may read it."),
    )
    threat_to_life = forms.BooleanField(
        required=False,
        label=_("Threat to life"),
        help_text=_("Imminent threat: the supervisor is alerted and the request can go at once."),
    )

    capture_evidence = forms.BooleanField(
        required=False,
        initial=True,
        label=_("Capture evidence"),
        help_text=_(
            "Archive each new URL as it is now (WARC, hashed) before anyone asks for it down."
        ),
    )

    def attributes(self) -> dict[str, Any]:
        """Keyword arguments for ``items_refer_bulk``."""
        data = self.cleaned_data
        return {
            "capture_evidence": data["capture_evidence"],
            "case": data["case"],
            "actor": data["actor"],
            "category": data["category"],
            "legal_basis": data["legal_basis"],
            "assessment_note": data["assessment_note"],
            "threat_to_life": data["threat_to_life"],
        }


class PasteIntakeForm(IntakeAttributesForm):
    text = forms.CharField(
        max_length=PASTE_MAX_LENGTH,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 14, "class": "paste-box", "spellcheck": "false"}),
        label=_("URLs"),
        help_text=_(
            "Paste up to %(limit)s URLs: one per line, or text with URLs in it (bullets, "
            "<angle brackets>, punctuation and defanged hxxp:// forms are fine)."
        )
        % {"limit": f"{MAX_URLS:,}"},
    )
    field_order = ["text"]


class SingleIntakeForm(IntakeAttributesForm):
    url = forms.CharField(max_length=MAX_URL_LENGTH, label=_("URL"))
    field_order = ["url"]


class CsvIntakeForm(IntakeAttributesForm):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_(
            "A header row, then one URL per row. Columns: url (required), and optionally "
            "category, legal_basis, assessment_note, threat_to_life (yes/no). At most 5,000 "
            "rows and 5 MB. Values left empty take the settings below."
        ),
    )
    field_order = ["file"]

    def clean_file(self) -> list[IntakeLine]:
        upload = self.cleaned_data["file"]
        if upload.size is not None and upload.size > MAX_CSV_BYTES:
            raise ValidationError(
                _("The file is too big (the limit is %(limit)s MB).")
                % {"limit": MAX_CSV_BYTES // (1024 * 1024)}
            )
        return csv_lines(upload.read(MAX_CSV_BYTES + 1))


# A spreadsheet exported as CSV: a header row naming the columns, one URL per row. Whole-file
# problems refuse the upload (400, nothing stored); a bad row becomes a refused line of the
# summary and the other rows go ahead.

_YES = {"yes", "y", "true", "1", "x", "on"}
_NO = {"no", "n", "false", "0", "off"}
_CSV_COLUMNS = ("url", "category", "legal_basis", "assessment_note", "threat_to_life")


def _choice(value: str, choices: Any, what: str) -> str:
    """A CSV cell naming a choice by its value or its label, case-insensitively."""
    wanted = value.strip().casefold()
    for choice_value, label in choices.choices:
        if wanted in (choice_value.casefold(), str(label).casefold()):
            return str(choice_value)
    allowed = ", ".join(choices.values)
    raise ValueError(f"Unknown {what} {value.strip()!r} (use one of: {allowed}).")


def _csv_row(number: int, row: dict[str, str]) -> IntakeLine:
    url = row.get("url", "").strip()
    try:
        if not url:
            raise ValueError("No URL in this row.")
        category = _choice(row["category"], ItemCategory, "category") if row.get("category") else ""
        legal_basis = (
            _choice(row["legal_basis"], LegalBasis, "legal basis") if row.get("legal_basis") else ""
        )
        threat_to_life: bool | None = None
        flag = row.get("threat_to_life", "").strip().casefold()
        if flag in _YES:
            threat_to_life = True
        elif flag in _NO:
            threat_to_life = False
        elif flag:
            raise ValueError(
                f"threat_to_life must be yes or no (got {row['threat_to_life'].strip()!r})."
            )
    except ValueError as exc:
        return IntakeLine(number=number, text=url, extract=False, refusal=str(exc))
    note = row.get("assessment_note", "").strip()
    return IntakeLine(
        number=number,
        text=url,
        extract=False,
        category=category,
        legal_basis=legal_basis,
        assessment_note=note or None,
        threat_to_life=threat_to_life,
    )


def csv_lines(data: bytes) -> list[IntakeLine]:
    """Rows of an uploaded CSV file (header row naming the columns; ``url`` required).

    Raises ``ValidationError`` for a file that cannot be read as a whole (not UTF-8 text, no
    ``url`` column, too big); a bad row is returned as a refused line and the rest go ahead.
    """
    if len(data) > MAX_CSV_BYTES:
        raise ValidationError(
            f"The file is too big ({len(data):,} bytes; the limit is {MAX_CSV_BYTES:,})."
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError(
            "The file is not UTF-8 text. Save the spreadsheet as “CSV UTF-8” and upload that."
        ) from None
    if "\x00" in text:
        raise ValidationError("The file contains binary data; upload a CSV text file.")
    # strict: an unbalanced quote refuses the file (with its line) instead of silently
    # swallowing the rows after it into one cell.
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None or not any(cell.strip() for cell in header):
            raise ValidationError("The file is empty: it needs a header row and one URL per row.")
        columns = [cell.strip().casefold().replace(" ", "_") for cell in header]
        if "url" not in columns:
            found = ", ".join(repr(c) for c in columns[:8] if c) or "none"
            raise ValidationError(
                "The first row must name the columns, one of them “url” (optional: "
                f"{', '.join(_CSV_COLUMNS[1:])}). Columns found: {found}."
            )
        known = {c for c in columns if c in _CSV_COLUMNS}
        duplicated = [c for c in known if columns.count(c) > 1]
        if duplicated:
            raise ValidationError(f"The column {duplicated[0]!r} appears twice in the header row.")

        lines: list[IntakeLine] = []
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue
            if len(lines) >= MAX_CSV_ROWS:
                raise ValidationError(
                    f"The file has more than {MAX_CSV_ROWS:,} rows; split it into smaller files."
                )
            number = reader.line_num
            if len(cells) > len(columns) and any(c.strip() for c in cells[len(columns) :]):
                lines.append(
                    IntakeLine(
                        number=number,
                        text=cells[columns.index("url")].strip(),
                        extract=False,
                        refusal="This row has more cells than the header row has columns.",
                    )
                )
                continue
            row = {
                name: cells[i] for i, name in enumerate(columns) if name in known and i < len(cells)
            }
            lines.append(_csv_row(number, row))
    except csv.Error as exc:
        raise ValidationError(
            f"The file is not valid CSV (line {reader.line_num}: {exc}); check the quotes."
        ) from None
    if not lines:
        raise ValidationError("The file has a header row but no URLs.")
    return lines


# --- approvals and holds ------------------------------------------------------------------------


class IdListField(forms.Field):
    """Ticked checkboxes sharing one name: a list of row ids."""

    widget = forms.MultipleHiddenInput
    default_error_messages = {"invalid": _("The selection is not valid; reload the page.")}

    def to_python(self, value: Any) -> list[int]:
        if not value:
            return []
        try:
            return [int(v) for v in value]
        except (TypeError, ValueError):
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None

    def validate(self, value: list[int]) -> None:
        if self.required and not value:
            raise ValidationError(_("Tick at least one item."), code="required")


class ApprovalDecisionForm(StyledForm):
    APPROVE, REJECT = "approve", "reject"

    items = IdListField()
    decision = forms.ChoiceField(
        choices=[(APPROVE, _("Approve")), (REJECT, _("Reject"))], widget=forms.HiddenInput
    )
    note = forms.CharField(
        required=False,
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        label=_("Note"),
        help_text=_("Required to reject: the officer who referred the item will read it."),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("decision") == self.REJECT and not data.get("note", "").strip():
            self.add_error("note", _("Say why the items are rejected."))
        return data


class HoldForm(StyledForm):
    reason = forms.CharField(
        max_length=NOTE_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 3}), label=_("Reason")
    )
    requesting_agency = forms.CharField(
        required=False, max_length=200, label=_("Requesting agency")
    )
    review_on = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        label=_("Review on"),
        help_text=_("When to decide whether the hold is still needed."),
    )


# --- cases ------------------------------------------------------------------------------------


class CaseCreateForm(StyledForm):
    title = forms.CharField(max_length=300, label=_("Title"))
    description = forms.CharField(
        required=False,
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        label=_("Description"),
    )
    actor = forms.ModelChoiceField(
        queryset=Actor.objects.order_by("name"),
        required=False,
        empty_label=_("(none)"),
        label=_("Actor"),
    )
    new_actor_name = forms.CharField(
        required=False,
        max_length=200,
        label=_("…or a new actor"),
        help_text=_("The group's name, if it is not in the list yet."),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("actor") and data.get("new_actor_name", "").strip():
            self.add_error("new_actor_name", _("Choose an actor from the list or name a new one."))
        return data
