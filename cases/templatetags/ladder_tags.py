"""``{% request_ladder rr as ladder %}``: the follow-up ladder of a request for its page."""

from __future__ import annotations

from django import template

from cases.models import RemovalRequest
from cases.selectors.ladder import LadderView, request_ladder

register = template.Library()


@register.simple_tag
def request_ladder_for(request: RemovalRequest) -> LadderView | None:
    return request_ladder(request)
