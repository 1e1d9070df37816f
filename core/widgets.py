"""Form widgets that render fast at the sizes units reach."""

from __future__ import annotations

from typing import Any

from django import forms
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe


class CompactSelect(forms.Select):
    """A flat ``<select>`` rendered in Python rather than with one template per option.

    The country list has ~250 options; Django's template-per-option rendering costs about
    30 ms per select, on every list page and form (200 actors: 12 ms). Same markup,
    without option groups (none of our choices has any).
    """

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        choices = list(self.choices)
        if any(isinstance(label, list | tuple) for _value, label in choices):
            return super().render(name, value, attrs, renderer)  # option groups: Django's
        # Django's optgroups() builds a dict of attributes per option; a select of every
        # actor or country only needs the value, whether it is chosen, and the label.
        chosen = set(self.format_value(value))
        options = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            (
                (shown, mark_safe(" selected") if shown in chosen else "", label)
                for shown, label in (
                    ("" if option is None else str(option), label) for option, label in choices
                )
            ),
        )
        return format_html(
            '<select name="{}"{}>{}</select>',
            name,
            flatatt(self.build_attrs(self.attrs, attrs)),
            options,
        )


def compact_selects(form: forms.BaseForm) -> None:
    """Swap each plain ``Select`` of the form for a ``CompactSelect`` (same attrs, choices)."""
    for field in form.fields.values():
        if type(field.widget) is forms.Select:
            compact = CompactSelect(attrs=field.widget.attrs)
            compact.choices = field.widget.choices
            compact.is_required = field.widget.is_required
            field.widget = compact
