"""Parsing the portal's answer form: one group of fields per URL, named ``line-<id>-<field>``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from portal.services import Answer, Ground

ANSWER_CHOICES = [
    (Answer.REMOVED, _("Removed")),
    (Answer.ACCESS_DISABLED, _("Access disabled in the unit's country")),
    (Answer.ALREADY_GONE, _("Already gone before this request")),
    (Answer.CANNOT_COMPLY, _("Cannot comply")),
    (Answer.NOT_VIOLATING, _("Not against our terms")),
    (Answer.FORWARDED, _("Forwarded to another provider")),
    (Answer.NEEDS_CLARIFICATION, _("Need clarification")),
]
GROUND_CHOICES = [
    (Ground.FORCE_MAJEURE, _("Force majeure")),
    (Ground.TECHNICALLY_IMPOSSIBLE, _("Technically impossible")),
    (Ground.MANIFESTLY_WRONG, _("The order is manifestly wrong")),
    (Ground.INSUFFICIENT_INFORMATION, _("Not enough information to find the content")),
]
# ``change`` is the explicit "Change this answer" tick an already-answered URL needs.
LINE_FIELDS = ("outcome", "ground", "forwarded_to", "question", "comment", "change")


@dataclass
class ParsedSubmission:
    answers: dict[int, dict[str, Any]] = field(default_factory=dict)
    all_removed: bool = False
    general_comment: str = ""
    # What the operator typed, to show the form again after an error.
    values: dict[int, dict[str, str]] = field(default_factory=dict)


def parse_submission(data: QueryDict, line_ids: list[int]) -> ParsedSubmission:
    """Answers for the request's own lines only; lines left on "no change" are skipped.

    A line ticked "Change this answer" with no new answer is kept, so the service can
    ask for the answer rather than ignore the tick.
    """
    parsed = ParsedSubmission(
        all_removed=data.get("all_removed") == "1",
        general_comment=data.get("general_comment", ""),
    )
    for line_id in line_ids:
        values = {name: data.get(f"line-{line_id}-{name}", "") for name in LINE_FIELDS}
        parsed.values[line_id] = values
        if values["outcome"] or values["change"]:
            parsed.answers[line_id] = values
    return parsed
