"""The answer fields of one URL on the portal page, built in Python (issue 11, P4).

The page repeats these fields for every URL of the request: seven answers, four
grounds and four text fields, each naming the line a few times. As template nodes
that was about 110 nodes per URL (1,300 for twelve URLs, 9 ms of the 12 ms page);
built here it is a few string joins. Every value is escaped, every label translated
in the page's language (the caller's ``translation.override``), with the msgids the
template used, so the catalogues are unchanged.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext

from portal.forms import ANSWER_CHOICES, GROUND_CHOICES

register = template.Library()


@functools.lru_cache(maxsize=64)
def _labels(language: str | None) -> dict[str, Any]:
    """The fixed labels in ``language``, translated and escaped once per process."""
    del language  # the cache key: gettext below reads the active language
    return {
        "change": escape(gettext("Change this answer")),
        "answer_for": gettext("Answer for URL %(n)s"),
        "none": escape(gettext("No change")),
        "details": escape(gettext("Reason, provider, question or comment")),
        "ground": escape(gettext("If you cannot comply: why")),
        "forwarded_to": escape(gettext("If forwarded: to which provider")),
        "question": escape(gettext("If you need clarification: your question")),
        "comment": escape(gettext("Comment (optional)")),
        "answers": [(value, escape(value), escape(label)) for value, label in ANSWER_CHOICES],
        "grounds": [(value, escape(value), escape(label)) for value, label in GROUND_CHOICES],
    }


def _checked(flag: object, word: str = " checked") -> str:
    return word if flag else ""


@register.simple_tag
def portal_line_fields(entry: Mapping[str, Any], limits: Mapping[str, int]) -> SafeString:
    """The "Change this answer" tick (answered URLs), the answers, and the details block."""
    labels = _labels(get_language())
    pk = int(entry["line"].pk)
    values: Mapping[str, str] = entry.get("values") or {}
    outcome = values.get("outcome") or ""
    ground = values.get("ground") or ""
    forwarded_to = values.get("forwarded_to") or ""
    question = values.get("question") or ""
    comment = values.get("comment") or ""
    parts: list[str] = []
    if entry.get("answered"):
        parts.append(
            '<div class="form-check mb-1">\n'
            f'      <input class="form-check-input" type="checkbox" name="line-{pk}-change" '
            f'id="l{pk}-change" value="1"{_checked(values.get("change"))}>\n'
            f'      <label class="form-check-label fw-semibold" for="l{pk}-change">'
            f"{labels['change']}</label>\n"
            "    </div>\n    "
        )
    answer_label = escape(labels["answer_for"] % {"n": int(entry["number"])})
    parts.append(
        f'<div role="radiogroup" aria-label="{answer_label}">\n'
        '      <div class="form-check">\n'
        f'        <input class="form-check-input" type="radio" name="line-{pk}-outcome" '
        f'id="l{pk}-none" value=""{_checked(not outcome)}>\n'
        f'        <label class="form-check-label" for="l{pk}-none">'
        f"{labels['none']}</label>\n"
        "      </div>\n"
    )
    for value, value_html, label in labels["answers"]:
        parts.append(
            '      <div class="form-check">\n'
            f'        <input class="form-check-input" type="radio" name="line-{pk}-outcome" '
            f'id="l{pk}-{value_html}" value="{value_html}"{_checked(outcome == value)}>\n'
            f'        <label class="form-check-label" for="l{pk}-{value_html}">'
            f"{label}</label>\n"
            "      </div>\n"
        )
    options = "".join(
        f'<option value="{value_html}"{_checked(ground == value, " selected")}>{label}</option>'
        for value, value_html, label in labels["grounds"]
    )
    is_open = _checked(ground or forwarded_to or question or comment, " open")
    parts.append(
        "    </div>\n"
        f'    <details class="mt-2"{is_open}>\n'
        f"      <summary>{labels['details']}</summary>\n"
        '      <div class="mt-2">\n'
        f'        <label class="form-label small" for="l{pk}-ground">'
        f"{labels['ground']}</label>\n"
        f'        <select class="form-select form-select-sm mb-2" name="line-{pk}-ground" '
        f'id="l{pk}-ground">\n'
        '          <option value="">—</option>\n'
        f"          {options}\n"
        "        </select>\n"
        f'        <label class="form-label small" for="l{pk}-fwd">'
        f"{labels['forwarded_to']}</label>\n"
        f'        <input class="form-control form-control-sm mb-2" type="text" '
        f'name="line-{pk}-forwarded_to" id="l{pk}-fwd" '
        f'maxlength="{int(limits["forwarded_to"])}" value="{escape(forwarded_to)}">\n'
        f'        <label class="form-label small" for="l{pk}-q">'
        f"{labels['question']}</label>\n"
        f'        <textarea class="form-control form-control-sm mb-2" name="line-{pk}-question" '
        f'id="l{pk}-q" rows="2" maxlength="{int(limits["question"])}">{escape(question)}'
        "</textarea>\n"
        f'        <label class="form-label small" for="l{pk}-c">'
        f"{labels['comment']}</label>\n"
        f'        <textarea class="form-control form-control-sm" name="line-{pk}-comment" '
        f'id="l{pk}-c" rows="2" maxlength="{int(limits["comment"])}">{escape(comment)}'
        "</textarea>\n"
        "      </div>\n"
        "    </details>"
    )
    # Everything above is a literal, an int or an escaped value.
    return mark_safe("".join(parts))  # noqa: S308
