"""Four-eyes for system drafts: whoever submits a weekly draft cannot also approve it
(issue 10, point 4; decision 0018)."""

from __future__ import annotations

from typing import cast

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from cases.models import RemovalRequest
from cases.services.requests import request_compose, request_mark_sent, request_submit
from core.errors import FourEyesViolation
from platforms.models import Platform
from tests.factories import ContactFactory, ItemFactory, PlatformFactory

pytestmark = pytest.mark.django_db


def weekly_draft_submitted_by(supervisor) -> RemovalRequest:
    """A system-composed draft (no composer), submitted by ``supervisor``."""
    platform = cast(Platform, PlatformFactory())
    ContactFactory(platform=platform)
    ItemFactory(platform=platform, approved=True)
    request = request_compose(platform=platform, composed_by=None)
    return request_submit(request=request, by=supervisor)


def test_it_records_who_submitted_a_draft(bob):
    request = weekly_draft_submitted_by(bob)

    request.refresh_from_db()
    assert (request.submitted_by, request.submitted_at is not None) == (bob, True)


def test_it_refuses_approval_by_the_supervisor_who_submitted_a_weekly_draft(bob):
    request = weekly_draft_submitted_by(bob)

    with pytest.raises(FourEyesViolation, match="You submitted"):
        request_mark_sent(request=request, approver=bob)


def test_it_lets_a_second_supervisor_approve_a_weekly_draft(bob, charlie):
    request = weekly_draft_submitted_by(bob)

    assert request_mark_sent(request=request, approver=charlie).approved_by == charlie


def test_it_refuses_a_raw_update_making_the_submitter_the_approver(bob):
    request = weekly_draft_submitted_by(bob)

    with pytest.raises(IntegrityError, match="request_four_eyes_submitter"), transaction.atomic():
        RemovalRequest.objects.filter(pk=request.pk).update(approved_by=bob)


def test_it_answers_409_with_a_message_when_the_submitter_presses_send(client, bob):
    request = weekly_draft_submitted_by(bob)
    client.force_login(bob)

    response = client.post(reverse("notifications:request_send", args=[request.pk]))

    assert response.status_code == 409
    assert "another supervisor must approve and send it" in response.content.decode()
    request.refresh_from_db()
    assert request.approved_by is None
