"""A removal order as the TCO Regulation's Annex I lays it out (Regulation (EU) 2021/784).

Every section is filled from the request and the unit's settings, so the printable
document (HTML and PDF, sent with the order's email) and the staff page say the same.
It holds no portal link: the document is stored with the email copy, and the link is a
secret (it travels only in the message body).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes, policy
from typing import Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from cases.models import (
    Correspondence,
    CorrespondenceChannel,
    CorrespondenceDirection,
    ItemCategory,
    RemovalRequest,
    RequestType,
)
from platforms.models import Contact, ContactRole

# Article 4 (cross-border orders) is about hosting service providers established in
# another Member State of the Union.
EU_MEMBER_STATES = frozenset([
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
    "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
])  # fmt: skip

# Section B's boxes: why the content is terrorist content, Article 2(7)(a)-(e).
ARTICLE_2_7: dict[str, Any] = {
    "a": _(
        "incites the commission of terrorist offences, such as by the glorification of "
        "terrorist acts (Art. 2(7)(a))"
    ),
    "b": _(
        "solicits a person or a group of persons to commit or contribute to the commission "
        "of terrorist offences (Art. 2(7)(b))"
    ),
    "c": _(
        "solicits a person or a group of persons to participate in the activities of a "
        "terrorist group (Art. 2(7)(c))"
    ),
    "d": _(
        "provides instruction on the making or use of explosives, firearms or other weapons "
        "or noxious or hazardous substances, or on other methods for committing terrorist "
        "offences (Art. 2(7)(d))"
    ),
    "e": _("constitutes a threat to commit a terrorist offence (Art. 2(7)(e))"),
}
# The desk's categories and the box each ticks; "other" ticks none (the assessment says).
CATEGORY_ARTICLE: dict[str, str] = {
    ItemCategory.PROPAGANDA: "a",
    ItemCategory.INCITEMENT: "a",
    ItemCategory.GLORIFICATION: "a",
    ItemCategory.FINANCING: "b",
    ItemCategory.RECRUITMENT: "c",
    ItemCategory.INSTRUCTION: "d",
    ItemCategory.THREAT: "e",
}


@dataclass(frozen=True)
class OrderLine:
    url: str
    item_id: int
    category: str
    reason_box: str  # "a".."e", or "" (see the assessment)
    reason: str
    assessment: str


@dataclass(frozen=True)
class RemovalOrderDocument:
    reference: str
    issued_at: datetime | None  # None: not sent yet (a draft of the document)
    deadline: datetime | None
    deadline_hours: int
    issuing_state: str
    authority_name: str
    authority_type: str
    authority_address: str
    authority_phone: str
    authority_email: str
    contact_person: str
    addressee: str
    addressee_contact: str
    main_establishment: str
    cross_border: bool
    lines: list[OrderLine]
    redress: str

    @property
    def reason_boxes(self) -> list[tuple[str, str, bool]]:
        """Section B's five boxes: (letter, text, ticked by any URL)."""
        ticked = {line.reason_box for line in self.lines}
        return [(box, str(text), box in ticked) for box, text in ARTICLE_2_7.items()]


def removal_order_document(request: RemovalRequest) -> RemovalOrderDocument:
    """The Annex I sections of a removal order; ``ValueError`` for a referral."""
    if request.request_type != RequestType.REMOVAL_ORDER:
        raise ValueError("Only a removal order has an Annex I document.")
    platform = request.platform
    contact = _addressee_contact(request)
    approver = request.approved_by
    lines = []
    for line in request.lines.select_related("item").order_by("id"):
        box = CATEGORY_ARTICLE.get(line.item.category, "")
        lines.append(
            OrderLine(
                url=line.item.url_normalised,
                item_id=line.item_id,
                category=line.item.get_category_display(),
                reason_box=box,
                reason=str(ARTICLE_2_7.get(box, "")),
                assessment=line.item.assessment_note,
            )
        )
    country = platform.country.code if platform.country else ""
    return RemovalOrderDocument(
        reference=request.reference,
        issued_at=request.sent_at,
        deadline=request.deadline,
        deadline_hours=settings.REMOVAL_ORDER_DEADLINE_HOURS,
        issuing_state=str(countries.name(settings.UNIT_COUNTRY.upper()) or settings.UNIT_COUNTRY),
        authority_name=settings.UNIT_NAME,
        authority_type=settings.UNIT_AUTHORITY_TYPE,
        authority_address=settings.UNIT_ADDRESS,
        authority_phone=settings.UNIT_PHONE,
        authority_email=settings.UNIT_EMAIL,
        contact_person=(approver.get_full_name() or approver.get_username()) if approver else "",
        addressee=platform.name,
        addressee_contact=f"{contact.name} <{contact.email}>" if contact else "",
        main_establishment=str(platform.country.name) if country else "",
        cross_border=country in EU_MEMBER_STATES and country != settings.UNIT_COUNTRY.upper(),
        lines=lines,
        redress=settings.TCO_REDRESS_INFO,
    )


def _addressee_contact(request: RemovalRequest) -> Contact | None:
    """The provider's TCO contact point (Art. 15) if it has one, else its primary contact."""
    contacts = Contact.objects.filter(platform=request.platform, is_active=True)
    return (
        contacts.filter(role=ContactRole.TCO_CONTACT_POINT).order_by("id").first()
        or contacts.filter(is_primary=True).order_by("id").first()
    )


def removal_order_as_sent(request: RemovalRequest) -> bytes | None:
    """The order's PDF exactly as it left with its first email (from the stored message),
    or None before it was sent."""
    sent = (
        Correspondence.objects.filter(
            request=request,
            direction=CorrespondenceDirection.OUTBOUND,
            channel=CorrespondenceChannel.EMAIL,
            raw__isnull=False,
        )
        .order_by("created_at", "id")
        .only("raw")
    )
    for row in sent:
        message = message_from_bytes(bytes(row.raw or b""), policy=policy.default)
        for part in message.walk():
            if part.get_content_type() == "application/pdf":
                payload = part.get_payload(decode=True)
                if isinstance(payload, bytes):
                    return payload
    return None
