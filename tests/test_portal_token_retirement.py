"""Tokens that emails stored in clear before decision 0017 no longer open the portal."""

from __future__ import annotations

from importlib import import_module

import pytest
from django.apps import apps

from cases.models import CorrespondenceDirection
from portal.services import portal_link_for_token, portal_link_issue, portal_url_for
from tests.factories import ContactFactory, CorrespondenceFactory, SentRequestFactory

pytestmark = pytest.mark.django_db

retire = import_module("portal.migrations.0003_retire_tokens_stored_in_clear")


def test_a_token_held_in_clear_by_a_stored_email_stops_working() -> None:
    request = SentRequestFactory()
    contact = ContactFactory(platform=request.platform)
    _, token = portal_link_issue(request=request, contact=contact)
    CorrespondenceFactory(
        request=request,
        direction=CorrespondenceDirection.OUTBOUND,
        body_text=f"Answer per URL here: {portal_url_for(token)}\nThank you.",
    )
    other_request = SentRequestFactory()
    other_contact = ContactFactory(platform=other_request.platform)
    _, untouched = portal_link_issue(request=other_request, contact=other_contact)
    assert portal_link_for_token(token) is not None

    retire.retire_tokens_stored_in_clear(apps, None)

    assert portal_link_for_token(token) is None
    # A link whose token no stored copy holds keeps working.
    assert portal_link_for_token(untouched) is not None
