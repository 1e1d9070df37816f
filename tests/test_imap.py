"""The IMAP poller against a real IMAP server: a private Dovecot started for each test.

Needs Debian's ``dovecot-core`` and ``dovecot-imapd`` (``/usr/sbin/dovecot``).
The server listens on 127.0.0.1 on a free port, without TLS (loopback only),
with one static user whose Maildir is under the test's tmp_path.
"""

from __future__ import annotations

import grp
import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest
from django.urls import reverse

from cases.models import Correspondence
from notifications.inbound.imap import imap_poll, imap_settings_from_url
from notifications.inbound.ingest import mail_record_refused
from notifications.models import InboundMail, MatchedBy
from tests.factories import SentRequestFactory

pytestmark = pytest.mark.django_db

DOVECOT = shutil.which("dovecot", path="/usr/sbin:/usr/bin:/sbin:/bin")
USER, PASSWORD = "desk", "imap-test-password"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Imap:
    port: int
    maildir: Path

    def deliver(self, raw: bytes, name: str) -> None:
        """Drop a message into new/ the way an MDA does (write in tmp/, rename)."""
        temporary = self.maildir / "tmp" / name
        temporary.write_bytes(raw)
        _own(temporary)
        temporary.rename(self.maildir / "new" / name)

    def unseen(self) -> int:
        with imaplib.IMAP4("127.0.0.1", self.port, timeout=10) as client:
            client.login(USER, PASSWORD)
            client.select("INBOX", readonly=True)
            _, data = client.search(None, "UNSEEN")
            return len(data[0].split()) if data and data[0] else 0


def _mail_ids() -> tuple[int, int]:
    """Dovecot refuses to serve mail as root: as root, the mailbox belongs to nobody."""
    if os.geteuid() == 0:
        return pwd.getpwnam("nobody").pw_uid, grp.getgrnam("nogroup").gr_gid
    return os.getuid(), os.getgid()


def _own(path: Path) -> None:
    if os.geteuid() == 0:
        os.chown(path, *_mail_ids())


def _config(root: Path, port: int, maildir: Path) -> str:
    if os.geteuid() == 0:
        # Login and internal processes must not run as root; Debian's package makes these users.
        users = (
            "default_internal_user = dovecot\n"
            "default_internal_group = dovecot\n"
            "default_login_user = dovenull\n"
        )
    else:
        me, group = pwd.getpwuid(os.getuid()).pw_name, grp.getgrgid(os.getgid()).gr_name
        users = (
            f"default_internal_user = {me}\n"
            f"default_internal_group = {group}\n"
            f"default_login_user = {me}\n"
        )
    return f"""
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
instance_name = tkd-test-{port}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
log_path = {root}/dovecot.log
mail_location = maildir:{maildir}
{users}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {root}/passwd
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""


def _wait_for(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"dovecot exited: {log.read_text() if log.exists() else ''}")
        try:
            with imaplib.IMAP4("127.0.0.1", port, timeout=2) as client:
                client.login(USER, PASSWORD)
                return
        except (OSError, imaplib.IMAP4.error):
            time.sleep(0.1)
    raise RuntimeError(f"dovecot did not accept a login: {log.read_text() if log.exists() else ''}")


@pytest.fixture
def imap_server() -> Iterator[Imap]:
    if DOVECOT is None:
        pytest.skip("Dovecot is not installed: apt-get install dovecot-core dovecot-imapd")
    # Not under pytest's temporary folders: those are private (0700) all the way up, and
    # Dovecot's unprivileged processes must reach the passwd file and the Maildir.
    scratch = Path(tempfile.mkdtemp(prefix="desk-dovecot-"))
    scratch.chmod(0o711)
    root = scratch / "dovecot"
    maildir = root / "Maildir"
    for sub in ("run", "state", "home", "Maildir/new", "Maildir/cur", "Maildir/tmp"):
        (root / sub).mkdir(parents=True)
    uid, gid = _mail_ids()
    root.chmod(0o711)
    if os.geteuid() == 0:
        for path in [root / "home", maildir, *maildir.iterdir()]:
            os.chown(path, uid, gid)
    port = free_port()
    (root / "passwd").write_text(
        f"{USER}:{{PLAIN}}{PASSWORD}:{uid}:{gid}::{root}/home::userdb_mail=maildir:{maildir}\n"
    )
    (root / "dovecot.conf").write_text(_config(root, port, maildir))
    process = subprocess.Popen(
        [DOVECOT, "-F", "-c", str(root / "dovecot.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(port, process, root / "dovecot.log")
        yield Imap(port=port, maildir=maildir)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(scratch, ignore_errors=True)


def operator_reply(subject: str) -> bytes:
    message = EmailMessage()
    message["From"] = "PasteBay abuse <abuse@pastebay.example.net>"
    message["To"] = "referrals@iru.example"
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="pastebay.example.net")
    message.set_content("Removed.\n\nOn Monday the unit wrote:\n> please remove\n")
    # CRLF, as IMAP serves it: the comparison with what was stored is byte for byte.
    return message.as_bytes(policy=policy.SMTP)


def poll(server: Imap) -> list[int]:
    return imap_poll(
        host="127.0.0.1", port=server.port, user=USER, password=PASSWORD, ssl=False
    ).ingested


def test_it_ingests_unseen_messages_and_marks_them_seen(imap_server, platform):
    request = SentRequestFactory(platform=platform)
    first = operator_reply(f"Re: [{request.reference}] Referral")
    second = operator_reply("A question about your letter")
    imap_server.deliver(first, "1.tkd")
    imap_server.deliver(second, "2.tkd")

    ingested = poll(imap_server)

    assert len(ingested) == 2
    rows = Correspondence.objects.filter(pk__in=ingested).order_by("id")
    assert [bytes(row.raw or b"") for row in rows] == [first, second]
    assert rows[0].request == request
    assert InboundMail.objects.get(correspondence=rows[0]).matched_by == MatchedBy.SUBJECT_REFERENCE
    assert rows[1].request is None
    assert InboundMail.objects.get(correspondence=rows[1]).received_via == "imap:INBOX"
    assert imap_server.unseen() == 0


def test_it_ingests_nothing_on_a_second_poll(imap_server):
    imap_server.deliver(operator_reply("one"), "1.tkd")
    imap_server.deliver(operator_reply("two"), "2.tkd")
    assert len(poll(imap_server)) == 2
    assert poll(imap_server) == []
    assert Correspondence.objects.count() == 2


def test_it_leaves_a_message_unseen_when_storing_it_fails(imap_server, monkeypatch):
    imap_server.deliver(operator_reply("one"), "1.tkd")

    def database_down(raw: bytes, *, received_via: str) -> None:
        raise ConnectionError("database is down")

    monkeypatch.setattr("notifications.inbound.imap.mail_ingest", database_down)
    result = imap_poll(
        host="127.0.0.1", port=imap_server.port, user=USER, password=PASSWORD, ssl=False
    )
    assert result.ingested == [] and result.failed == ["1"]
    assert imap_server.unseen() == 1


def test_it_reads_the_mailbox_settings_from_imap_url():
    imap = imap_settings_from_url("imaps://desk%40iru.example:p%2Fss@mail.iru.example:993/Replies")
    assert (imap.host, imap.port, imap.user, imap.password, imap.mailbox, imap.ssl) == (
        "mail.iru.example",
        993,
        "desk@iru.example",
        "p/ss",
        "Replies",
        True,
    )


def test_it_polls_the_configured_mailbox_from_the_task(imap_server, settings):
    from notifications.tasks import poll_imap_mailbox

    imap_server.deliver(operator_reply("one"), "1.tkd")
    settings.IMAP_URL = f"imap://{USER}:{PASSWORD}@127.0.0.1:{imap_server.port}/INBOX"
    assert poll_imap_mailbox() == 1
    assert poll_imap_mailbox() == 0


def big_reply(subject: str, size: int) -> bytes:
    message = EmailMessage()
    message["From"] = "PasteBay abuse <abuse@pastebay.example.net>"
    message["To"] = "referrals@iru.example"
    message["Subject"] = subject
    message["Message-ID"] = "<big-1@pastebay.example.net>"
    message.set_content(
        "Removed, see the attached screenshots.\n" + ("x" * 70 + "\n") * (size // 71)
    )
    return message.as_bytes(policy=policy.SMTP)


def test_it_records_a_message_over_the_size_cap_without_fetching_it(
    imap_server, settings, monkeypatch
):
    settings.INBOUND_MESSAGE_MAX_BYTES = 4000
    raw = big_reply("Re: [TKD-2026-000001] Referral", 20000)
    imap_server.deliver(raw, "1.tkd")
    commands: list[str] = []
    real_uid = imaplib.IMAP4.uid

    def spy(self: imaplib.IMAP4, command: str, *args: str) -> object:
        commands.append(" ".join([command, *args]))
        return real_uid(self, command, *args)

    monkeypatch.setattr(imaplib.IMAP4, "uid", spy)

    result = imap_poll(
        host="127.0.0.1", port=imap_server.port, user=USER, password=PASSWORD, ssl=False
    )

    assert result.ingested == [] and result.refused == ["1"]
    assert not any("BODY.PEEK[]" in command for command in commands)
    row = Correspondence.objects.get()
    assert row.raw is None and row.request is None
    assert row.subject == "Re: [TKD-2026-000001] Referral"
    assert "abuse@pastebay.example.net" in row.from_address
    reason = row.inbound_mail.review_reason
    assert f"too large ({len(raw)} bytes; the limit is 4000 bytes)" in reason
    assert "<big-1@pastebay.example.net>" in reason


def test_it_does_not_refuse_an_oversize_message_again_on_the_next_poll(imap_server, settings):
    settings.INBOUND_MESSAGE_MAX_BYTES = 4000
    imap_server.deliver(big_reply("too big", 20000), "1.tkd")
    first = imap_poll(
        host="127.0.0.1", port=imap_server.port, user=USER, password=PASSWORD, ssl=False
    )
    second = imap_poll(
        host="127.0.0.1", port=imap_server.port, user=USER, password=PASSWORD, ssl=False
    )
    assert (first.refused, second.refused) == (["1"], [])
    assert imap_server.unseen() == 0
    assert Correspondence.objects.count() == 1


def test_it_still_ingests_messages_under_the_size_cap(imap_server, settings):
    settings.INBOUND_MESSAGE_MAX_BYTES = 4000
    small = operator_reply("small")
    imap_server.deliver(big_reply("too big", 20000), "1.tkd")
    imap_server.deliver(small, "2.tkd")
    result = imap_poll(
        host="127.0.0.1", port=imap_server.port, user=USER, password=PASSWORD, ssl=False
    )
    assert result.refused == ["1"] and len(result.ingested) == 1
    assert bytes(Correspondence.objects.get(pk=result.ingested[0]).raw or b"") == small


def test_it_shows_why_a_refused_message_waits_in_the_unmatched_queue(client, alice):
    mail_record_refused(
        headers=b"From: a@b.example\r\nSubject: huge\r\n\r\n",
        size=99999,
        limit=4000,
        received_via="imap:INBOX",
    )
    client.force_login(alice)
    response = client.get(reverse("notifications:inbound_unmatched"))
    assert "Refused: too large (99999 bytes; the limit is 4000 bytes)" in response.content.decode()
