from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from cases.forms import StyledForm
from cases.models import Evidence


class EvidenceUploadForm(StyledForm):
    file = forms.FileField(label=_("File"))
    kind = forms.ChoiceField(
        choices=[
            (Evidence.Kind.SCREENSHOT, Evidence.Kind.SCREENSHOT.label),
            (Evidence.Kind.OTHER, Evidence.Kind.OTHER.label),
            (Evidence.Kind.WARC, Evidence.Kind.WARC.label),
        ],
        initial=Evidence.Kind.SCREENSHOT,
        label=_("Kind"),
    )
    captured_at = forms.DateTimeField(
        required=False,
        label=_("Captured at"),
        help_text=_("When the other tool took it (your time zone); empty: now."),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    description = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        label=_("What it shows"),
    )
