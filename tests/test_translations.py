"""The operator-facing catalogues: complete, compiled, and actually used by the email and portal.

The catalogue (``locale/<lang>/LC_MESSAGES/django.po``) holds only what operators
see: the request and clarification emails, the portal and the model labels they
show. How to regenerate it is in ``locale/README.md``.
"""

# The expected phrases are Turkish, Russian, ...: their letters are meant.
# ruff: noqa: RUF001

from __future__ import annotations

import ast
import gettext as gnu_gettext
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation
from django.utils.translation import gettext

from cases.models import LegalBasis, RemovalRequest, RequestType
from notifications.emails import (
    build_clarification_email,
    build_reminder_email,
    build_request_email,
)
from platforms.models import Contact
from portal.services import portal_link_issue
from tests.factories import (
    ContactFactory,
    PlatformFactory,
    RequestItemFactory,
    SentRequestFactory,
)

LOCALE_DIR = Path(settings.BASE_DIR) / "locale"
SHIPPED = ("pl", "de", "fr", "ar", "tr", "ru")
# Forms per language: pl/ru one / few / many, ar zero / one / two / few / many / other.
NPLURALS = {"pl": 3, "de": 2, "fr": 2, "ar": 6, "tr": 2, "ru": 3}
PORTAL_URL = "https://portal.iru.example/r/not-a-real-token/"

# A phrase each email must carry in its language, and the terms of the TCO Regulation.
HOW_TO_ANSWER = {
    "pl": "Jak odpowiedzieć",
    "de": "So antworten Sie",
    "fr": "Comment répondre",
    "ar": "كيفية الرد",
    "tr": "Nasıl yanıt verebilirsiniz",
    "ru": "Как ответить",
}
REMOVAL_ORDER = {
    "pl": "nakaz usunięcia",
    "de": "Entfernungsanordnung",
    "fr": "injonction de retrait",
    "ar": "أمر إزالة",
    "tr": "kaldırma emri",
    "ru": "предписание об удалении",
}
# The portal's "Send answers" button.
SEND_ANSWERS = {
    "pl": "Wyślij odpowiedzi",
    "de": "Antworten senden",
    "fr": "Envoyer les réponses",
    "ar": "إرسال الإجابات",
    "tr": "Yanıtları gönder",
    "ru": "Отправить ответы",
}
# The reminder's "URLs still without an answer" heading (three URLs open).
STILL_OPEN = {
    "pl": "Adresy URL nadal bez odpowiedzi (3)",
    "de": "URLs weiterhin ohne Antwort (3)",
    "fr": "URL toujours sans réponse (3)",
    "ar": "روابط لم يُرد عليها بعد (3)",
    "tr": "Hâlâ yanıtsız URL'ler (3)",
    "ru": "URL-адреса всё ещё без ответа (3)",
}
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


# --- a small .po reader (polib is not a dependency) -----------------------------------------


@dataclass
class PoEntry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)


def _unquote(text: str) -> str:
    value = ast.literal_eval(text)
    assert isinstance(value, str)
    return value


def read_po(path: Path) -> tuple[dict[str, str], list[PoEntry]]:
    """The header (as a dict) and the entries of a .po file."""
    entries: list[PoEntry] = []
    entry: PoEntry | None = None
    target: tuple[str, int] = ("msgid", 0)
    for raw in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        line = raw.strip()
        if not line:
            if entry is not None:
                entries.append(entry)
            entry = None
            continue
        if entry is None:
            entry = PoEntry()
        if line.startswith("#,"):
            entry.flags |= {flag.strip() for flag in line[2:].split(",")}
        elif line.startswith("#"):
            continue
        elif match := re.match(r"^(msgid_plural|msgid|msgstr)(?:\[(\d+)\])? (\".*\")$", line):
            keyword, index, text = match.groups()
            target = (keyword, int(index or 0))
            _append(entry, target, _unquote(text), start=True)
        else:
            _append(entry, target, _unquote(line), start=False)
    header_entry = next(e for e in entries if e.msgid == "")
    header = dict(
        line.split(": ", 1) for line in header_entry.msgstr[0].splitlines() if ": " in line
    )
    return header, [e for e in entries if e.msgid != ""]


def _append(entry: PoEntry, target: tuple[str, int], text: str, *, start: bool) -> None:
    keyword, index = target
    if keyword == "msgid":
        entry.msgid = text if start else entry.msgid + text
    elif keyword == "msgid_plural":
        entry.msgid_plural = text if start else (entry.msgid_plural or "") + text
    else:
        entry.msgstr[index] = text if start else entry.msgstr.get(index, "") + text


def po_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / "django.po"


# --- the catalogues ------------------------------------------------------------------------


def test_it_ships_a_catalogue_for_every_non_english_language() -> None:
    assert {code for code, _ in settings.LANGUAGES} - {"en"} == set(SHIPPED)
    for language in SHIPPED:
        assert po_path(language).exists()
        assert po_path(language).with_suffix(".mo").exists()


def test_it_holds_the_same_messages_in_every_catalogue() -> None:
    msgids = {
        language: {(e.msgid, e.msgid_plural) for e in read_po(po_path(language))[1]}
        for language in SHIPPED
    }
    assert all(ids == msgids["pl"] for ids in msgids.values())
    # Operator-facing only: the staff UI's own strings stay out of it.
    flat = {msgid for msgid, _ in msgids["pl"]}
    assert "Send answers" in flat
    assert "Answer to your question about our request" in flat
    assert "Portal links per contact" not in flat  # the staff panel on the request page
    assert "Revoke" not in flat


@pytest.mark.parametrize("language", SHIPPED)
def test_it_translates_every_message_with_no_fuzzy_entry(language: str) -> None:
    header, entries = read_po(po_path(language))
    assert header["Language"] == language
    nplurals = int(re.search(r"nplurals=(\d+)", header["Plural-Forms"]).group(1))  # type: ignore[union-attr]
    assert nplurals == NPLURALS[language]
    assert len(entries) > 100
    for entry in entries:
        assert "fuzzy" not in entry.flags, entry.msgid
        expected = range(nplurals) if entry.msgid_plural is not None else range(1)
        assert sorted(entry.msgstr) == list(expected), entry.msgid
        assert all(text.strip() for text in entry.msgstr.values()), entry.msgid


@pytest.mark.parametrize("language", SHIPPED)
def test_it_keeps_every_placeholder(language: str) -> None:
    for entry in read_po(po_path(language))[1]:
        wanted = set(PLACEHOLDER.findall(entry.msgid))
        for text in entry.msgstr.values():
            assert set(PLACEHOLDER.findall(text)) == wanted, (entry.msgid, text)


@pytest.mark.parametrize("language", SHIPPED)
def test_it_compiles_every_message_into_the_mo_file(language: str) -> None:
    # Compared message by message rather than by file times: a checkout does not keep
    # mtimes, and a stale .mo is exactly one whose messages differ from its .po.
    po = po_path(language)
    mo = po.with_suffix(".mo")
    with mo.open("rb") as handle:
        compiled = gnu_gettext.GNUTranslations(handle)
    catalog = compiled._catalog  # type: ignore[attr-defined]  # msgid (or (msgid, n)) -> msgstr
    for entry in read_po(po)[1]:
        if entry.msgid_plural is None:
            assert catalog.get(entry.msgid) == entry.msgstr[0], entry.msgid
        else:
            for index, text in entry.msgstr.items():
                assert catalog.get((entry.msgid, index)) == text, entry.msgid


# --- the request email ---------------------------------------------------------------------


def _request_for(language: str, *, removal_order: bool = False) -> tuple[RemovalRequest, Contact]:
    platform = PlatformFactory(name="SmallSite", preferred_language=language)
    contact = ContactFactory(platform=platform, primary=True)
    request = SentRequestFactory(platform=platform, contacts=[contact], removal_order=removal_order)
    for number in range(3):
        url = f"https://smallsite.example/p/{number}?x=1&y=2"
        RequestItemFactory(
            request=request, item__url_normalised=url, item__host="smallsite.example"
        )
    return request, contact


@pytest.mark.django_db
@pytest.mark.parametrize("language", SHIPPED)
def test_it_writes_the_request_email_in_the_contacts_language(language: str) -> None:
    request, contact = _request_for(language)

    message = build_request_email(request, contact, portal_url=PORTAL_URL)

    text = message.body
    html = str(message.alternatives[0][0])  # type: ignore[index]
    assert message.subject.startswith(f"[{request.reference}] ")
    assert "Referral of" not in message.subject
    assert message.extra_headers["Content-Language"] == language
    for body in (text, html):
        assert HOW_TO_ANSWER[language] in body
        assert "How to answer" not in body
        assert "This is a voluntary referral" not in body
        assert request.reference in body
        assert PORTAL_URL in body
        assert str(LegalBasis.TERMS_OF_SERVICE.label) not in body  # the English label
    assert f'dir="{"rtl" if language == "ar" else "ltr"}"' in html
    for line in request.lines.select_related("item"):
        assert line.item.url_normalised in text
        assert f'href="{line.item.url_normalised.replace("&", "&amp;")}"' in html


@pytest.mark.django_db
@pytest.mark.parametrize("language", SHIPPED)
def test_it_names_a_removal_order_by_the_regulations_own_term(language: str) -> None:
    request, contact = _request_for(language, removal_order=True)
    assert request.request_type == RequestType.REMOVAL_ORDER

    message = build_request_email(request, contact)

    assert message.subject.startswith(f"[{request.reference}] ")
    assert REMOVAL_ORDER[language].casefold() in message.subject.casefold()
    assert REMOVAL_ORDER[language].casefold() in message.body.casefold()
    assert "Removal order" not in message.subject
    assert "issues this removal order" not in message.body


@pytest.mark.django_db
@pytest.mark.parametrize("language", SHIPPED)
def test_it_writes_the_clarification_answer_in_the_contacts_language(language: str) -> None:
    request, contact = _request_for(language)
    english = "Answer to your question about our request"
    with translation.override(language):
        translated = gettext(english)
        our_answer = gettext("Our answer")
    assert translated != english

    message = build_clarification_email(
        request, contact, question="Which one?", answer="The second URL."
    )

    assert message.subject == f"[{request.reference}] {translated}"
    assert our_answer in message.body
    assert "Our answer" not in message.body
    assert "Which one?" in message.body
    assert "The second URL." in message.body


@pytest.mark.django_db
@pytest.mark.parametrize("language", SHIPPED)
def test_it_writes_the_reminder_email_in_the_contacts_language(language: str) -> None:
    request, contact = _request_for(language)
    open_urls = [line.item.url_normalised for line in request.lines.select_related("item")]
    with translation.override(language):
        second_reminder = gettext("SECOND REMINDER")
    assert second_reminder != "SECOND REMINDER"

    message = build_reminder_email(
        request, contact, open_urls=open_urls, number=2, portal_url=PORTAL_URL
    )

    text = message.body
    html = str(message.alternatives[0][0])  # type: ignore[index]
    assert message.subject.startswith(f"[{request.reference}] ")
    assert "reminder" not in message.subject.casefold()
    assert message.extra_headers["Content-Language"] == language
    for body in (text, html):
        assert STILL_OPEN[language] in body
        assert second_reminder in body
        assert "still without an answer" not in body
        assert "We have no answer yet" not in body
        assert HOW_TO_ANSWER[language] in body
        assert request.reference in body
        assert PORTAL_URL in body
    assert f'dir="{"rtl" if language == "ar" else "ltr"}"' in html
    for url in open_urls:
        assert url in text
        assert f'href="{url.replace("&", "&amp;")}"' in html


# --- the portal ----------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("language", SHIPPED)
def test_it_renders_the_portal_in_the_contacts_language(client: Client, language: str) -> None:
    request, contact = _request_for(language)
    _, token = portal_link_issue(request=request, contact=contact)

    response = client.get(f"/r/{token}/")

    assert response.status_code == 200
    assert response["Content-Language"] == language
    page = response.content.decode()
    assert f'<html lang="{language}" dir="{"rtl" if language == "ar" else "ltr"}">' in page
    assert SEND_ANSWERS[language] in page
    assert "Send answers" not in page
    assert request.reference in page


@pytest.mark.django_db
def test_it_words_a_refused_portal_answer_in_the_contacts_language(client: Client) -> None:
    request, contact = _request_for("de")
    _, token = portal_link_issue(request=request, contact=contact)
    line = request.lines.first()
    assert line is not None

    response = client.post(f"/r/{token}/", {f"line-{line.pk}-outcome": "forwarded"})

    assert response.status_code == 400
    page = response.content.decode()
    assert "Bitte nennen Sie den Anbieter" in page
    assert "Name the provider" not in page
