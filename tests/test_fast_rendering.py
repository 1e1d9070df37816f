"""The shortcuts the list pages take to render fast (issue 11) show what Django would."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django import forms
from django.utils import translation

from cases.models import Actor, Item, RemovalRequest, RequestState
from core.choices import choice_labels
from core.widgets import CompactSelect, compact_selects


class _Markup(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.parts: list[tuple[str, ...]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.parts.append(("start", tag, *sorted(f"{k}={v}" for k, v in attrs)))

    def handle_endtag(self, tag: str) -> None:
        self.parts.append(("end", tag))

    def handle_data(self, data: str) -> None:
        if data.strip():
            self.parts.append(("text", data.strip()))

    def handle_entityref(self, name: str) -> None:
        self.parts.append(("entity", name))

    def handle_charref(self, name: str) -> None:
        self.parts.append(("char", name))


def _tags(html: str) -> list[tuple[str, ...]]:
    """The markup as tags (attributes in any order), texts and entities, blanks dropped."""
    parser = _Markup()
    parser.feed(html)
    return parser.parts


CHOICES = [
    ("", "Any"),
    ("a", "Alpha & <Omega>"),
    ("b", 'Quote "b"'),
    (3, "Three"),
]


@pytest.mark.parametrize("value", [None, "", "a", "b", 3, "3", "missing"])
def test_compact_select_renders_what_djangos_select_renders(value: object) -> None:
    attrs = {"class": "form-select", "id": "id_pick", "aria-describedby": "x<y"}
    django_html = forms.Select(attrs=attrs, choices=CHOICES).render("pick", value)
    compact_html = CompactSelect(attrs=attrs, choices=CHOICES).render("pick", value)

    assert _tags(compact_html) == _tags(django_html)
    assert "<Omega>" not in compact_html  # labels escaped


def test_compact_select_falls_back_to_django_for_option_groups() -> None:
    grouped = [("Letters", [("a", "A"), ("b", "B")]), ("n", "None of them")]
    html = CompactSelect(choices=grouped).render("pick", "b")

    assert '<optgroup label="Letters">' in html
    assert _tags(html) == _tags(forms.Select(choices=grouped).render("pick", "b"))


@pytest.mark.django_db
def test_compact_selects_swaps_a_model_select_and_keeps_its_choice() -> None:
    chosen = Actor.objects.create(name="Group <b>")
    Actor.objects.create(name="Other group")

    class ActorForm(forms.Form):
        actor = forms.ModelChoiceField(queryset=Actor.objects.order_by("name"), required=False)
        kind = forms.ChoiceField(choices=CHOICES, widget=forms.RadioSelect)

    form = ActorForm(data={"actor": str(chosen.pk)})
    expected = str(form["actor"])
    compact_selects(form)

    assert isinstance(form.fields["actor"].widget, CompactSelect)
    assert isinstance(form.fields["kind"].widget, forms.RadioSelect)  # only plain selects
    assert _tags(str(form["actor"])) == _tags(expected)
    assert f'<option value="{chosen.pk}" selected>Group &lt;b&gt;</option>' in str(form["actor"])


def test_display_labels_are_translated_in_the_language_of_the_moment() -> None:
    request = RemovalRequest(state=RequestState.AWAITING_APPROVAL)

    with translation.override("en"):
        english = request.get_state_display()
    with translation.override("de"):
        german = request.get_state_display()

    assert english == "Awaiting approval"
    assert german == "Wartet auf Genehmigung"


def test_a_display_label_of_a_value_outside_the_choices_is_the_value() -> None:
    item = Item(status="no_such_status")

    assert item.get_status_display() == "no_such_status"
    assert Item(status="approved").get_status_display() == "Approved"


def test_the_label_dict_is_built_once_per_field() -> None:
    field = Item._meta.get_field("category")

    assert choice_labels(field) is choice_labels(field)
    assert set(choice_labels(field)) == {value for value, _label in field.flatchoices}
