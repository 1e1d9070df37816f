"""Issue 13 point 5: a removal order in the TCO Annex I shape, printable (HTML, PDF) and sent
with the order's email; the operator's answers already follow Annexes II and III (portal)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from cases import documents
from cases.models import ItemCategory, RequestType
from cases.selectors.orders import removal_order_document
from notifications.emails import build_request_email
from platforms.models import ContactRole
from tests.factories import (
    ContactFactory,
    ItemFactory,
    PlatformFactory,
    RequestItemFactory,
    SentRequestFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(settings):
    settings.UNIT_COUNTRY = "GB"
    settings.UNIT_NAME = "Counter Terrorism Internet Referral Unit"
    settings.UNIT_ADDRESS = "1 Example Street\nLondon"
    platform = PlatformFactory(name="ChanBoard", country="NL")
    ContactFactory(platform=platform, email="abuse@chan.example", primary=True)
    ContactFactory(
        platform=platform,
        name="TCO point",
        email="tco@chan.example",
        role=ContactRole.TCO_CONTACT_POINT,
    )
    request = SentRequestFactory(platform=platform, removal_order=True)
    for category, note in (
        (ItemCategory.INCITEMENT, "Calls for attacks on named targets."),
        (ItemCategory.INSTRUCTION, "Bomb-making manual."),
        (ItemCategory.OTHER, "Logo of a proscribed group."),
    ):
        RequestItemFactory(
            request=request,
            item=ItemFactory(
                platform=platform, approved=True, category=category, assessment_note=note
            ),
        )
    return request


def test_the_document_fills_every_annex_i_section_from_the_request(order) -> None:
    document = removal_order_document(order)

    assert document.reference == order.reference
    assert document.issuing_state == "United Kingdom"
    assert document.addressee == "ChanBoard"
    assert document.addressee_contact == "TCO point <tco@chan.example>"  # Art. 15 point first
    assert document.main_establishment == "Netherlands" and document.cross_border
    assert document.issued_at == order.sent_at and document.deadline == order.deadline
    assert [line.reason_box for line in document.lines] == ["a", "d", ""]
    assert [(box, ticked) for box, _text, ticked in document.reason_boxes] == [
        ("a", True),
        ("b", False),
        ("c", False),
        ("d", True),
        ("e", False),
    ]
    assert document.authority_address == "1 Example Street\nLondon"


def test_only_a_provider_in_another_member_state_makes_an_order_cross_border(
    order, settings
) -> None:
    for country in ("GB", "US", ""):  # the unit's own, outside the Union, not known
        order.platform.country = country
        assert not removal_order_document(order).cross_border, country
    settings.UNIT_COUNTRY = "DE"
    order.platform.country = "DE"
    assert not removal_order_document(order).cross_border
    order.platform.country = "FR"
    assert removal_order_document(order).cross_border


def test_a_referral_has_no_order_document() -> None:
    referral = SentRequestFactory()
    assert referral.request_type == RequestType.REFERRAL

    with pytest.raises(ValueError, match="Only a removal order"):
        removal_order_document(referral)


def test_the_printable_page_and_the_pdf_are_served_to_every_staff_role(order, dave) -> None:
    client = Client()
    client.force_login(dave)  # an analyst: reads requests

    page = client.get(reverse("requests:order", args=[order.pk]))
    pdf = client.get(reverse("requests:order_pdf", args=[order.pk]))

    text = page.content.decode()
    assert page.status_code == 200
    for section in ("Section A", "Section B", "Section C", "Section D", "Section E"):
        assert section in text
    assert "Section F" in text and "Section G" in text
    assert "Bomb-making manual." in text and "Cross-border order (Article 4)" in text
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    assert f"{order.reference}-removal-order.pdf" in pdf["Content-Disposition"]
    detail = client.get(reverse("requests:detail", args=[order.pk])).content.decode()
    assert reverse("requests:order_pdf", args=[order.pk]) in detail


def test_a_referral_asks_for_its_order_document_in_vain(alice) -> None:
    referral = SentRequestFactory()
    client = Client()
    client.force_login(alice)

    assert client.get(reverse("requests:order", args=[referral.pk])).status_code == 404
    assert client.get(reverse("requests:order_pdf", args=[referral.pk])).status_code == 404
    assert Client().get(reverse("requests:order", args=[referral.pk])).status_code == 302


def test_the_orders_email_carries_the_document_and_no_portal_link_goes_into_it(
    order, monkeypatch: pytest.MonkeyPatch
) -> None:
    contact = order.platform.contacts.get(role=ContactRole.TCO_CONTACT_POINT)
    portal_url = "https://portal.example/r/tkd-secret-token-123/"
    rendered: list[str] = []
    real_render = documents.render_pdf

    def spy(html: str) -> bytes:
        rendered.append(html)
        return real_render(html)

    monkeypatch.setattr(documents, "render_pdf", spy)

    message = build_request_email(order, contact, portal_url=portal_url)

    assert len(message.attachments) == 1
    name, content, mimetype = message.attachments[0]
    assert name == f"{order.reference}-removal-order.pdf" and mimetype == "application/pdf"
    assert content.startswith(b"%PDF-")
    assert "attached as a PDF" in message.body
    assert portal_url in message.body  # the link travels in the body only ...
    assert len(rendered) == 1 and order.reference in rendered[0]
    assert "tkd-secret-token-123" not in rendered[0]  # ... never in the attached document


def test_a_referrals_email_has_no_attachment() -> None:
    referral = SentRequestFactory()
    contact = ContactFactory(platform=referral.platform, primary=True)

    message = build_request_email(referral, contact)

    assert message.attachments == []
    assert "attached as a PDF" not in message.body


def test_once_sent_the_staff_pdf_is_the_attachment_as_it_left(order, alice) -> None:
    from cases.models import Correspondence, CorrespondenceChannel, CorrespondenceDirection
    from notifications.emails import email_as_bytes

    contact = order.platform.contacts.get(role=ContactRole.TCO_CONTACT_POINT)
    message = build_request_email(order, contact)
    sent_pdf = message.attachments[0][1]
    Correspondence.objects.create(
        request=order,
        direction=CorrespondenceDirection.OUTBOUND,
        channel=CorrespondenceChannel.EMAIL,
        contact=contact,
        subject=message.subject,
        raw=email_as_bytes(message),
    )
    # Today's data differ from what was sent: the PDF does not follow them.
    order.platform.name = "Renamed since"
    order.platform.save()
    client = Client()
    client.force_login(alice)

    served = client.get(reverse("requests:order_pdf", args=[order.pk])).content
    page = client.get(reverse("requests:order", args=[order.pk])).content.decode()

    assert served == sent_pdf
    assert "Renamed since" in page and "exactly as it was sent" in page


def test_the_email_preview_renders_no_order_document(order, bob, monkeypatch) -> None:
    def fail(html: str) -> bytes:
        raise AssertionError("the preview rendered a PDF")

    monkeypatch.setattr(documents, "render_pdf", fail)
    client = Client()
    client.force_login(bob)

    response = client.get(reverse("notifications:request_preview", args=[order.pk]))

    assert response.status_code == 200 and order.reference in response.content.decode()
