"""Forms for the staff pages of the cases app (items, intake, approvals, holds, cases).

``StyledForm`` gives every widget its Bootstrap class, so templates render fields with one
partial (templates/cases/items/_field.html) and no per-field markup.
"""

from __future__ import annotations

from typing import Any

from django import forms

from core.widgets import compact_selects


def style_widgets(form: forms.BaseForm) -> None:
    """Bootstrap classes on every widget; plain selects rendered in Python (every actor)."""
    compact_selects(form)
    for bound_field in form.fields.values():
        widget = bound_field.widget
        if isinstance(widget, forms.HiddenInput | forms.MultipleHiddenInput):
            continue
        if isinstance(widget, forms.CheckboxInput):
            css = "form-check-input"
        elif isinstance(widget, forms.Select | forms.SelectMultiple):
            css = "form-select"
        else:
            css = "form-control"
        widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()


class StyledForm(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        style_widgets(self)
