"""The demo referral unit as data: staff, platforms, groups, cases and each request's story.

Everything here is invented. Groups, handles, ids and infrastructure companies are
fictional; the mainstream platforms are the real services DESIGN §6 names, but their
contact addresses are made up under ``.example`` so that nothing can ever be mailed to
them, and the URLs point at invented ids, not at real content.

The tables are laid out by hand (``fmt: off``) so that one row reads as one record.
"""

from __future__ import annotations

from cases.models import ItemCategory as Cat
from cases.models import LegalBasis, RequestType
from cases.models import Outcome as O
from cases.models import OutcomeSource as Src
from core.roles import Role
from demo.plan import (
    ActorSpec,
    Answer,
    Cancel,
    CaseSpec,
    Clarify,
    Close,
    ContactSpec,
    Escalate,
    Expire,
    ExtraItem,
    MarkDefunct,
    Note,
    Notify,
    Overdue,
    Plan,
    PlatformSpec,
    UpstreamSpec,
)
from platforms.models import ContactRole as CR
from platforms.models import OperatorCanAct as Can
from platforms.models import PlatformArchitecture as Arch
from platforms.models import PlatformKind as Kind
from platforms.models import PlatformTier as Tier
from platforms.models import UpstreamRole

SEED = 20260784  # fixed: the same demo every time (784 for Regulation 2021/784)

# --- staff ------------------------------------------------------------------------------------

USERS: tuple[tuple[str, Role], ...] = (
    ("alice", Role.OFFICER),
    ("bob", Role.OFFICER),
    ("carol", Role.SUPERVISOR),
    ("dave", Role.SUPERVISOR),
    ("erin", Role.ANALYST),
    ("admin", Role.ADMIN),
)
OFFICERS = ("alice", "bob")
SUPERVISORS = ("carol", "dave")  # they take turns on duty, week by week

# --- platforms --------------------------------------------------------------------------------

FACEBOOK, X, YOUTUBE, TELEGRAM, ASKFM = "Facebook", "X", "YouTube", "Telegram", "Ask.fm"
JUSTPASTE, GAB, FIVELAFA = "justpaste.it", "Gab", "5elafabook"
ROCKETCHAT = "Iron Dawn RocketChat server"
ZERONET = "Iron Dawn ZeroNet site"
FICHIERS = "Fichiers Libres"
NORDVIK, CIRRUS, HARBOURLINE = "Nordvik Hosting", "Cirrus Edge CDN", "Harbourline Registrar"
BOSPHORUS, ZEROGATE = "Bosphorus Hosting", "ZeroGate gateway"

# fmt: off
PLATFORMS: tuple[PlatformSpec, ...] = (
    PlatformSpec(
        FACEBOOK, ("facebook.com", "fb.com", "fb.watch"), Kind.SOCIAL_NETWORK, "IE",
        tier=Tier.MAINSTREAM, response_target_days=3, tco_notice_week=-9,
        notes="EU establishment in Ireland. Referrals through the law-enforcement web form; "
        "removal orders to the TCO contact point.",
    ),
    PlatformSpec(
        X, ("x.com", "twitter.com", "t.co"), Kind.SOCIAL_NETWORK, "IE",
        tier=Tier.MAINSTREAM, response_target_days=3,
        notes="Often withholds content in the requesting country instead of removing it.",
    ),
    PlatformSpec(
        YOUTUBE, ("youtube.com", "youtu.be"), Kind.VIDEO, "IE",
        tier=Tier.MAINSTREAM, response_target_days=3,
        notes="Outcomes are read from the trusted-flagger dashboard by an officer.",
    ),
    PlatformSpec(
        TELEGRAM, ("t.me", "telegram.org", "telegram.me"), Kind.MESSAGING, "AE",
        tier=Tier.MAINSTREAM, response_target_days=3,
        notes="Operated from Dubai (AE); the holding company is registered in the British "
        "Virgin Islands (VG). Channels and accounts are referred as items; mass culls.",
    ),
    PlatformSpec(ASKFM, ("ask.fm",), Kind.SOCIAL_NETWORK, "LV", tier=Tier.MAINSTREAM),
    PlatformSpec(
        JUSTPASTE, ("justpaste.it", "jpst.it"), Kind.PASTE_SITE, "PL",
        preferred_language="pl", tco_notice_week=-10,
        notes="Run by one person in Poland. Complies voluntarily and answers on the portal, "
        "usually within a day or two.",
    ),
    PlatformSpec(
        ROCKETCHAT, ("chat.irondawn-forge.net", "talk.forge-relay.org"), Kind.CHAT_SERVER,
        "DE", architecture=Arch.SELF_HOSTED, operator_can_act=Can.NO, registered_week=-10,
        notes="Self-hosted RocketChat run by Iron Dawn itself: the operator is hostile and "
        "will not act. Escalate to the hosting provider.",
    ),
    PlatformSpec(
        ZERONET, ("irondawn.zerogate-proxy.net",), Kind.PEER_TO_PEER, "",
        architecture=Arch.PEER_TO_PEER, operator_can_act=Can.NO, registered_week=-9,
        notes="Peer-to-peer site with no operator: tracked, not actionable. Reached through "
        "the ZeroGate gateway, which publishes it under its own domain.",
    ),
    PlatformSpec(
        GAB, ("gab.com", "gab.ai"), Kind.SOCIAL_NETWORK, "US", tco_notice_week=-8,
        notes="Alt-tech network. Refuses most referrals as protected speech and removal "
        "orders as outside its jurisdiction; removes direct threats.",
    ),
    PlatformSpec(
        FIVELAFA, ("5elafabook.com",), Kind.SOCIAL_NETWORK, "", registered_week=-6,
        notes="Facebook clone set up by Black Meridian supporters; online for about a day.",
    ),
    PlatformSpec(
        FICHIERS, ("fichiers-libres.fr",), Kind.FILE_HOST, "FR",
        preferred_language="fr", response_target_days=14, registered_week=-8,
        notes="Small French file host run by a non-profit association.",
    ),
    PlatformSpec(NORDVIK, ("nordvik-hosting.net",), Kind.INFRASTRUCTURE, "DE",
                 preferred_language="de", response_target_days=5,
                 notes="Hosting provider (virtual servers)."),
    PlatformSpec(CIRRUS, ("cirrusedge-cdn.net",), Kind.INFRASTRUCTURE, "US",
                 response_target_days=5, notes="CDN: forwards notices to the origin host."),
    PlatformSpec(HARBOURLINE, ("harbourline-registrar.com",), Kind.INFRASTRUCTURE, "CA",
                 response_target_days=10, notes="Domain registrar."),
    PlatformSpec(BOSPHORUS, ("bosphorus-hosting.com.tr",), Kind.INFRASTRUCTURE, "TR",
                 preferred_language="tr", response_target_days=10, registered_week=-6,
                 notes="Hosting provider."),
    PlatformSpec(ZEROGATE, ("zerogate-proxy.net",), Kind.INFRASTRUCTURE, "NL",
                 registered_week=-9,
                 notes="Public ZeroNet gateway: can block sites on its own domain only."),
)

CONTACTS: tuple[ContactSpec, ...] = (
    ContactSpec(FACEBOOK, CR.LEGAL, "Law enforcement online request form",
                web_form_url="https://facebook.example/records/login/", primary=True),
    ContactSpec(FACEBOOK, CR.TCO_CONTACT_POINT, "TCO contact point",
                email="tco-contact-point@facebook.example"),
    ContactSpec(X, CR.LEGAL, "Legal request form",
                web_form_url="https://x.example/forms/legal-request", primary=True),
    ContactSpec(X, CR.LEGAL, "Legal policy team", email="legal-requests@x.example"),
    ContactSpec(YOUTUBE, CR.LEGAL, "Trusted flagger form",
                web_form_url="https://youtube.example/legal/trusted-flagger", primary=True),
    ContactSpec(YOUTUBE, CR.TCO_CONTACT_POINT, "TCO contact point",
                email="tco-point@youtube.example"),
    ContactSpec(TELEGRAM, CR.ABUSE, "Abuse desk", email="abuse@telegram.example", primary=True),
    ContactSpec(TELEGRAM, CR.ABUSE, "Abuse desk (Arabic)", email="abuse-ar@telegram.example",
                language="ar"),
    ContactSpec(TELEGRAM, CR.ABUSE, "Abuse desk (Russian)", email="abuse-ru@telegram.example",
                language="ru"),
    ContactSpec(TELEGRAM, CR.TCO_CONTACT_POINT, "TCO contact point",
                email="tco@telegram.example"),
    ContactSpec(ASKFM, CR.ABUSE, "Safety team", email="safety@askfm.example", primary=True),
    ContactSpec(ASKFM, CR.LEGAL, "Legal", email="legal@askfm.example", language="ru"),
    ContactSpec(JUSTPASTE, CR.OWNER, "Site owner", email="owner@justpaste.example",
                language="pl", primary=True),
    ContactSpec(JUSTPASTE, CR.ABUSE, "Abuse reports", email="abuse@justpaste.example",
                language="en"),
    ContactSpec(ROCKETCHAT, CR.OWNER, "Server administrator (from the server's info page)",
                email="admin@irondawn-forge.example", primary=True),
    ContactSpec(GAB, CR.LEGAL, "Legal", email="legal@gab.example", primary=True),
    ContactSpec(GAB, CR.ABUSE, "Abuse", email="abuse@gab.example"),
    ContactSpec(FIVELAFA, CR.OWNER, "Site contact address", email="contact@5elafabook.example",
                language="ar", primary=True),
    ContactSpec(FICHIERS, CR.ABUSE, "Signalements", email="abus@fichiers-libres.example",
                primary=True),
    ContactSpec(NORDVIK, CR.ABUSE, "Abuse-Team", email="abuse@nordvik-hosting.example",
                primary=True),
    ContactSpec(CIRRUS, CR.ABUSE, "Trust & Safety", email="abuse@cirrusedge.example",
                primary=True),
    ContactSpec(HARBOURLINE, CR.ABUSE, "Abuse desk", email="abuse@harbourline.example",
                primary=True),
    ContactSpec(BOSPHORUS, CR.ABUSE, "Kötüye kullanım",  # noqa: RUF001 - Turkish dotless i
                email="abuse@bosphorus-hosting.example", primary=True),
    ContactSpec(ZEROGATE, CR.ABUSE, "Gateway operator", email="abuse@zerogate.example",
                primary=True),
)

UPSTREAMS: tuple[UpstreamSpec, ...] = (
    UpstreamSpec(ROCKETCHAT, NORDVIK, UpstreamRole.HOSTING),
    UpstreamSpec(ROCKETCHAT, CIRRUS, UpstreamRole.CDN),
    UpstreamSpec(ZERONET, ZEROGATE, UpstreamRole.GATEWAY),
    UpstreamSpec(FIVELAFA, HARBOURLINE, UpstreamRole.REGISTRAR),
    UpstreamSpec(FIVELAFA, BOSPHORUS, UpstreamRole.HOSTING),
    UpstreamSpec(FIVELAFA, CIRRUS, UpstreamRole.CDN),
)

# --- groups and cases (all fictional) ---------------------------------------------------------

ACTORS: tuple[ActorSpec, ...] = (
    ActorSpec("Black Meridian", ("Meridian Media Office", "BMMO", "Ninth Year Media"), True,
              "Fictional proscribed group. Weekly releases through its media office."),
    ActorSpec("Iron Dawn Collective", ("IDC", "Dawnforge", "Iron Dawn Division"), True,
              "Fictional proscribed accelerationist network; runs its own chat server."),
    ActorSpec("Ashen Lantern Network", ("ALN", "Lantern Relief Fund"), False,
              "Fictional network under assessment; raises money under a charity name."),
)

CASES: tuple[CaseSpec, ...] = (
    CaseSpec("ninth-year", "Black Meridian release 'The Ninth Year' and its re-uploads",
             "Official video release, then re-uploads and clips across mainstream platforms.",
             "Black Meridian", (Cat.PROPAGANDA, Cat.PROPAGANDA, Cat.RECRUITMENT), "alice", -12),
    CaseSpec("meridian-pastes", "Black Meridian weekly link lists on paste sites",
             "Every week the media office posts link lists to new uploads on paste sites.",
             "Black Meridian", (Cat.PROPAGANDA, Cat.RECRUITMENT), "bob", -12),
    CaseSpec("dawnforge-chat", "Iron Dawn recruitment server and its mirrors",
             "Recruitment and incitement on the group's own RocketChat, ZeroNet and Gab.",
             "Iron Dawn Collective", (Cat.RECRUITMENT, Cat.INCITEMENT), "bob", -11),
    CaseSpec("harbour-street", "Glorification after the Harbour Street attack",
             "Posts praising the (fictional) Harbour Street attack and threatening copycats.",
             None, (Cat.GLORIFICATION, Cat.THREAT), "alice", -8),
    CaseSpec("lantern-appeal", "Ashen Lantern fundraising appeal",
             "Donation appeals with wallet addresses, posted as a relief charity.",
             "Ashen Lantern Network", (Cat.FINANCING,), "alice", -11),
    CaseSpec("manual-pdf", "Explosives manual circulating on file hosts",
             "One PDF manual re-hosted on small file hosts.", "Iron Dawn Collective",
             (Cat.INSTRUCTION,), "carol", -11, closed=True),
)
# fmt: on

ASSESSMENT_NOTES: dict[str, tuple[str, ...]] = {
    Cat.PROPAGANDA: (
        "Official release of {actor}; logo in the opening frame and a call to join.",
        "Re-upload of the release, trimmed and mirrored to evade hash matching.",
        "Clip from the release with the group's anthem and logo.",
    ),
    Cat.RECRUITMENT: (
        "Invitation to a private group with a vetting questionnaire.",
        "Recruitment post naming {actor} and asking readers to 'join the ranks'.",
    ),
    Cat.INCITEMENT: ("Calls on followers to attack named categories of people.",),
    Cat.GLORIFICATION: ("Praises the attacker as a hero and the attack as a model.",),
    Cat.THREAT: ("Threatens a repeat of the attack at a public event; assessed as credible.",),
    Cat.FINANCING: ("Donation appeal for {actor} with cryptocurrency wallet addresses.",),
    Cat.INSTRUCTION: ("Copy of the explosives manual (PDF); its hash matches the known file.",),
}

# --- how each platform answers ----------------------------------------------------------------

REASONS: dict[str, dict[str, str]] = {
    "": {
        O.REMOVED: "Content removed and the account suspended.",
        O.ACCESS_DISABLED: "Withheld in the United Kingdom.",
        O.RESTRICTED: "Age-restricted and removed from recommendations.",
        O.ALREADY_GONE: "Already removed before your request arrived.",
        O.REFUSED_NOT_VIOLATING: "Reviewed: does not violate our terms.",
        O.REFUSED_NO_JURISDICTION: "We are not subject to the law cited.",
        O.UNABLE: "We cannot act on this content.",
        O.NEEDS_INFO: "Please tell us which part of the content is unlawful.",
        O.FORWARDED: "Forwarded to the hosting provider.",
    },
    JUSTPASTE: {O.REMOVED: "Usunięto. Dziękuję.", O.ALREADY_GONE: "Już usunięte."},
    FICHIERS: {
        O.REMOVED: "Fichier supprimé.",
        O.REFUSED_NOT_VIOLATING: "Document publié par un média : archive de presse.",
        O.NEEDS_INFO: "Le lien mène à un dossier de 40 fichiers : lequel est visé ?",
    },
    GAB: {
        O.REFUSED_NOT_VIOLATING: "Protected political speech under the First Amendment.",
        O.REFUSED_NO_JURISDICTION: "Gab is a US company with no EU establishment; foreign "
        "removal orders have no effect here.",
        O.REMOVED: "Removed: direct threat of violence.",
    },
    ZEROGATE: {
        O.REMOVED: "Site address blocked on our gateway.",
        O.UNABLE: "This address is not served by our gateway; we cannot block or remove it.",
    },
    CIRRUS: {
        O.FORWARDED: "We are a pass-through CDN; your notice was forwarded to the origin "
        "host (Bosphorus Hosting).",
    },
}

# Weighted mixes: each line of such an answer draws one outcome at random.
JP_MIX = (O.REMOVED,) * 12 + (O.ALREADY_GONE,)
TG_MIX = (O.REMOVED,) * 5 + (O.ACCESS_DISABLED,) * 2
FB_MIX = (O.REMOVED,) * 4 + (O.ACCESS_DISABLED, O.RESTRICTED)
X_MIX = (O.REMOVED,) * 3 + (O.ACCESS_DISABLED,) * 2 + (O.REFUSED_NOT_VIOLATING,)
YT_MIX = (O.REMOVED,) * 3 + (O.RESTRICTED, O.ALREADY_GONE)

PORTAL, EMAIL, OFFICER = Src.OPERATOR_PORTAL, Src.OPERATOR_EMAIL, Src.OFFICER
ORDER, TA2006 = RequestType.REMOVAL_ORDER, LegalBasis.TERRORISM_ACT_2006
NATIONAL = LegalBasis.NATIONAL_LAW
VERIFIED = "All removals verified offline."

# --- the requests, by platform ----------------------------------------------------------------
# Plan(platform, week sent, number of items, case, steps, ...): see plan.Plan.

# fmt: off
PLANS: tuple[Plan, ...] = (
    # justpaste.it: the weekly routine, answered on the portal within a day or two.
    *(Plan(JUSTPASTE, week, 5, "meridian-pastes",
           (Answer(PORTAL, JP_MIX, (2, 40), pick_random=True), Close(5, VERIFIED)))
      for week in range(-11, -1)),
    Plan(JUSTPASTE, -1, 5, "meridian-pastes", (Answer(PORTAL, JP_MIX, (2, 40), pick_random=True),)),
    Plan(JUSTPASTE, 0, 5, "meridian-pastes", (Answer(PORTAL, (O.REMOVED,), (0.8, 1.6), count=3),)),
    # Its first removal order, after the advance notice; then one with a question.
    Plan(JUSTPASTE, -8, 1, "ninth-year", (Answer(PORTAL, (O.REMOVED,), (0.4, 0.7)), Close(2)),
         request_type=ORDER, ad_hoc=(2, 14.0)),
    Plan(JUSTPASTE, -4, 2, "ninth-year", (
        Answer(PORTAL, (O.REMOVED,), (0.2, 0.3), count=1),
        Clarify(0.4, 2.5, "Which of the two pastes do you mean? The second link is a copy of a "
                "news article.", "The second paste: lines 12-40 are the group's statement."),
        Answer(PORTAL, (O.REMOVED,), (2.8, 2.9)),
        Close(3, VERIFIED),
    ), request_type=ORDER, ad_hoc=(3, 11.0)),
    # Telegram: batches of channels answered by email; an emergency order one night.
    *(Plan(TELEGRAM, week, 4, "ninth-year" if week % 4 == 1 else "lantern-appeal",
           (Answer(EMAIL, TG_MIX, (10, 40), pick_random=True), Close(4, VERIFIED)),
           legal_basis=TA2006)
      for week in (-11, -9, -7, -5, -3)),
    Plan(TELEGRAM, -1, 4, "ninth-year", (Answer(EMAIL, TG_MIX, (20, 44), pick_random=True),)),
    Plan(TELEGRAM, -7, 1, "harbour-street", (Answer(PORTAL, (O.REMOVED,), (0.5, 0.7)), Close(1)),
         request_type=ORDER, ad_hoc=(5, 2.2), emergency=True, threat_to_life=1,
         category=Cat.THREAT),
    # Facebook: web form and email; its first order after advance notice, with a question.
    *(Plan(FACEBOOK, week, 3, "ninth-year",
           (Answer(EMAIL, FB_MIX, (6, 30), pick_random=True), Close(4, VERIFIED)))
      for week in (-10, -8, -6, -4)),
    Plan(FACEBOOK, -2, 3, "harbour-street", (Answer(EMAIL, FB_MIX, (6, 30), pick_random=True),)),
    Plan(FACEBOOK, -6, 3, "harbour-street", (
        Answer(EMAIL, (O.REMOVED,), (0.6, 0.8), count=2),
        Clarify(0.85, 3.5, "The third URL shows a news clip; what exactly should be removed?",
                "The caption and comments praising the attacker, not the clip itself.", EMAIL),
        Answer(EMAIL, (O.REMOVED,), (3.55, 3.6)),
        Close(2),
    ), request_type=ORDER, ad_hoc=(1, 10.0), threat_to_life=1, category=Cat.GLORIFICATION),
    Plan(FACEBOOK, 0, 3, "ninth-year", stage="draft"),
    # X: withholds or refuses some; last week's request is overdue.
    *(Plan(X, week, 3, "lantern-appeal" if week == -7 else "ninth-year",
           (Answer(EMAIL, X_MIX, (12, 60), pick_random=True), Close(5)),
           legal_basis=TA2006 if week in (-9, -5) else LegalBasis.TERMS_OF_SERVICE)
      for week in (-11, -9, -7, -5, -3)),
    Plan(X, -1, 3, "ninth-year", (Answer(EMAIL, (O.ACCESS_DISABLED,), (20, 30), count=1),
                                  Overdue())),
    Plan(X, 0, 3, "ninth-year", stage="submitted"),
    # YouTube: an officer reads the outcomes from the trusted-flagger dashboard.
    *(Plan(YOUTUBE, week, 4, "ninth-year",
           (Answer(OFFICER, YT_MIX, (8, 48), pick_random=True), Close(5, VERIFIED)))
      for week in (-11, -8, -5)),
    Plan(YOUTUBE, -2, 4, "ninth-year", (
        Answer(OFFICER, (O.REMOVED, O.RESTRICTED, O.REMOVED, O.ALREADY_GONE), (8, 48)),
    )),
    # Ask.fm: answered once, ignored once.
    Plan(ASKFM, -9, 3, "lantern-appeal", (Answer(PORTAL, (O.REMOVED,), (30, 70)), Close(9))),
    Plan(ASKFM, -4, 3, "lantern-appeal", (
        Overdue(),
        Expire(),
        Close(10, "No answer after two reminders; the content is still online. Re-refer "
              "with the next batch."),
    )),
    # Gab: refuses, and says an order has no effect on it.
    Plan(GAB, -10, 3, "dawnforge-chat", (
        Answer(EMAIL, (O.REFUSED_NOT_VIOLATING, O.REFUSED_NOT_VIOLATING, O.REMOVED), (50, 90)),
        Close(8, "Refusals recorded for the compliance report."),
    )),
    Plan(GAB, -6, 2, "dawnforge-chat", (
        Overdue(),
        Answer(EMAIL, (O.REFUSED_NO_JURISDICTION,), (18, 30)),
        Close(3, "Refusal recorded; reported to the competent authority."),
    ), request_type=ORDER, ad_hoc=(2, 15.0)),
    Plan(GAB, -2, 3, "dawnforge-chat", (
        Answer(EMAIL, (O.REFUSED_NOT_VIOLATING,), (40, 60), count=1),
        Overdue(),
        Expire(),
    )),
    # The group's own RocketChat: no answer, escalated to the hosting provider.
    Plan(ROCKETCHAT, -9, 3, "dawnforge-chat", (
        Overdue(),
        Expire(),
        Escalate(UpstreamRole.HOSTING, 170, "The operator is the group itself and will not "
                 "act; notice sent to the hosting provider."),
        Answer(OFFICER, (O.REMOVED,), (200, 210),
               reason="Nordvik Hosting suspended the server (abuse ticket NVK-48213)."),
        Close(10, "Server suspended by the host; the group moved to a new domain."),
    )),
    Plan(ROCKETCHAT, -3, 3, "dawnforge-chat", (
        Overdue(),
        Expire(),
        Escalate(UpstreamRole.HOSTING, 172, "Same group, new domain, same host: notice sent "
                 "to Nordvik Hosting again."),
    )),
    # ZeroNet: no operator and no contact; the draft is discarded, the gateway acts instead.
    Plan(ZERONET, -8, 4, "dawnforge-chat", (
        Cancel(3, "Peer-to-peer site without an operator or contact; the gateway is asked "
               "to block it instead."),
    ), stage="draft"),
    Plan(ZEROGATE, -7, 3, "dawnforge-chat",
         (Answer(PORTAL, (O.REMOVED, O.REMOVED, O.UNABLE), (20, 50)), Close(6))),
    # 5elafabook lives a day; its videos sat on a CDN that forwards notices to the host.
    Plan(FIVELAFA, -6, 4, "ninth-year", (
        Notify(UpstreamRole.REGISTRAR, 2, "Please suspend 5elafabook.com: the whole site "
               "serves Black Meridian propaganda."),
        MarkDefunct(22.5),
        Answer(OFFICER, (O.ALREADY_GONE,), (22.6, 22.8),
               reason="Site offline; the domain no longer resolves."),
        Note(23, "Checked from two networks: DNS gone, no mirror found."),
        Close(2),
    ), ad_hoc=(0, 11.0)),
    Plan(CIRRUS, -6, 2, "ninth-year", (Answer(EMAIL, (O.FORWARDED,), (26, 30)), Close(3)),
         ad_hoc=(0, 11.5)),
    # A small French file host, in French; last week's answer asks a question back.
    Plan(FICHIERS, -7, 3, "manual-pdf", (Answer(PORTAL, (O.REMOVED,), (20, 70)), Close(7)),
         legal_basis=NATIONAL),
    Plan(FICHIERS, -1, 3, "manual-pdf",
         (Answer(PORTAL, (O.REMOVED, O.REFUSED_NOT_VIOLATING, O.NEEDS_INFO), (30, 80)),),
         legal_basis=NATIONAL),
    Plan(FICHIERS, 0, 2, "manual-pdf", legal_basis=NATIONAL),
)

# --- items outside any request ----------------------------------------------------------------

RTCU = "Regional Counter Terrorism Unit (North)"

EXTRA_ITEMS: tuple[ExtraItem, ...] = (
    # Awaiting approval: logged on Friday afternoon and this Monday morning.
    ExtraItem(TELEGRAM, "harbour-street", (0, 0, 9.8), Cat.THREAT, threat_to_life=True),
    ExtraItem(TELEGRAM, "lantern-appeal", (-1, 4, 15.5), Cat.FINANCING),
    ExtraItem(JUSTPASTE, "meridian-pastes", (-1, 4, 16.2)),
    ExtraItem(JUSTPASTE, "meridian-pastes", (0, 0, 8.1)),
    ExtraItem(X, "ninth-year", (0, 0, 8.6)),
    ExtraItem(GAB, "dawnforge-chat", (-1, 3, 14.0), Cat.INCITEMENT),
    ExtraItem(FACEBOOK, "harbour-street", (0, 0, 7.4), Cat.GLORIFICATION),
    # Approved this morning, after the weekly job ran: they go out next Monday.
    ExtraItem(JUSTPASTE, "meridian-pastes", (0, 0, 7.2), approve=True),
    ExtraItem(YOUTUBE, "ninth-year", (0, 0, 8.9), approve=True),
    # Rejected, with the reason the officer who referred it will read.
    ExtraItem(YOUTUBE, "ninth-year", (-9, 2, 11.0), reject_note="News report about the "
              "release on a broadcaster's own channel; not terrorist content."),
    ExtraItem(X, "lantern-appeal", (-7, 1, 15.0), Cat.FINANCING, reject_note="Satirical "
              "account mocking the group; it does not promote it."),
    ExtraItem(TELEGRAM, "ninth-year", (-5, 3, 10.0), reject_note="Researcher's archive "
              "channel with clear academic framing; leave online."),
    ExtraItem(JUSTPASTE, "meridian-pastes", (-3, 2, 14.0), reject_note="The paste only "
              "lists dead links; nothing left to remove."),
    ExtraItem(GAB, "dawnforge-chat", (-2, 4, 16.0), Cat.INCITEMENT, reject_note="Not enough "
              "context: resubmit with a translation of the audio."),
    # On hold for another agency (de-confliction).
    ExtraItem(TELEGRAM, "ninth-year", (-6, 1, 10.0), hold_agency=RTCU, hold_reason="Channel "
              "administrators are subjects of a live investigation; keep online until "
              "arrests.", hold_review_in_days=21),
    ExtraItem(TELEGRAM, "lantern-appeal", (-3, 2, 12.0), Cat.FINANCING,
              hold_agency="Partner intelligence agency (via liaison desk)",
              hold_reason="Wallet addresses under monitoring.", hold_review_in_days=28),
    ExtraItem(ROCKETCHAT, "dawnforge-chat", (-4, 3, 15.0), Cat.RECRUITMENT, hold_agency=RTCU,
              hold_reason="Room used to identify recruiters; collection ongoing.",
              hold_review_in_days=14),
    ExtraItem(X, "ninth-year", (-2, 0, 11.0), hold_agency="Europol EU IRU",
              hold_reason="To be referred together on the joint referral action day.",
              hold_review_in_days=14),
)

# The same content referred again by someone else, written differently: still one item.
# (platform, index of that platform's item in creation order, officer, case, days later)
DUPLICATE_REFERRALS: tuple[tuple[str, int, str, str, int], ...] = (
    (JUSTPASTE, 0, "alice", "ninth-year", 2),
    (TELEGRAM, 2, "bob", "lantern-appeal", 1),
    (X, 1, "bob", "harbour-street", 3),
    (FACEBOOK, 0, "bob", "harbour-street", 2),
    (YOUTUBE, 3, "alice", "ninth-year", 1),
)

# --- what the invented URLs look like ---------------------------------------------------------
# {handle} takes one of the platform's HANDLES; {digits:N}, {lower:N}, {mixed:N}, {b58:N},
# {hex:N} are random strings of that length; {yt} is an 11-character video id.

URL_PATTERNS: dict[str, tuple[str, ...]] = {
    FACEBOOK: ("https://www.facebook.com/{handle}/posts/pfbid0{mixed:34}",
               "https://www.facebook.com/watch/?v={digits:16}",
               "https://fb.watch/{mixed:10}/"),
    X: ("https://x.com/{handle}/status/{digits:19}",
        "https://twitter.com/{handle}/status/{digits:19}",
        "https://t.co/{mixed:10}"),
    YOUTUBE: ("https://www.youtube.com/watch?v={yt}", "https://youtu.be/{yt}",
              "https://www.youtube.com/shorts/{yt}"),
    TELEGRAM: ("https://t.me/{handle}/{digits:4}", "https://t.me/{handle}_{digits:3}",
               "https://telegram.me/{handle}/{digits:3}"),
    ASKFM: ("https://ask.fm/{handle}/answers/{digits:12}",),
    JUSTPASTE: ("https://justpaste.it/{lower:5}", "https://justpaste.it/{lower:5}",
                "https://jpst.it/{mixed:5}"),
    ROCKETCHAT: ("https://chat.irondawn-forge.net/channel/{handle}?msg={mixed:17}",
                 "https://talk.forge-relay.org/channel/{handle}?msg={mixed:17}"),
    ZERONET: ("https://irondawn.zerogate-proxy.net/archive/release-{digits:3}.html",
              "https://irondawn.zerogate-proxy.net/library/{lower:8}.pdf"),
    ZEROGATE: ("https://zerogate-proxy.net/1{b58:33}/index.html",),
    GAB: ("https://gab.com/{handle}/posts/{digits:18}",),
    FIVELAFA: ("https://5elafabook.com/posts/{digits:7}",
               "https://5elafabook.com/profile.php?id={digits:6}"),
    CIRRUS: ("https://media-5elafa.cirrusedge-cdn.net/u/{hex:32}.mp4",),
    FICHIERS: ("https://fichiers-libres.fr/f/{mixed:10}",
               "https://fichiers-libres.fr/d/{mixed:10}"),
}

HANDLES: dict[str, tuple[str, ...]] = {
    FACEBOOK: ("ninthyear.media.4471", "meridian.voice.relay", "harbourst.heroes.902"),
    X: ("mrdn_media_4471", "ninth_yr_relay", "lantern_relief_fnd", "hs_martyrs_0192"),
    TELEGRAM: ("meridian_news_ar", "ninthyear_archive", "lantern_relief_donate",
               "hs_glory_channel"),
    ASKFM: ("lantern_relief_q", "ninthyear_asks"),
    ROCKETCHAT: ("general", "recruits", "ops-planning", "library"),
    GAB: ("IronDawnDivision", "dawnforge_radio", "forge_hammer_88x"),
}
# fmt: on
