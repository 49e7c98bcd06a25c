"""The e-mail channel end to end with real servers on loopback: a real Dovecot (IMAP, started by the
test with its own configuration, stopped by its PID) holds the platform's mailbox, a real SMTP server
(aiosmtpd) receives what the outbox sends. A citizen's GBK mail becomes a case of the platform; the
citizen gets the acknowledgement with the case number; their reply joins the same case; hostile mail
is refused, kept and shown to the administrator (never the address in clear); and with the SMTP
server down the acknowledgement waits in the outbox and goes out when it is back."""

from __future__ import annotations

import email
import email.policy
import logging
from collections.abc import AsyncIterator
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from app.cases.models import Case, CaseEvent
from app.intake.models import IntakeMessage
from app.mail.models import RefusedMail
from app.outbox.models import OutboxMessage
from app.settings import MailboxSetting
from tests.conftest import add_user, free_port, login, make_settings, running_app
from tests.dovecot import Dovecot
from tests.integration.test_cases_helpers import write_rules
from tests.integration.test_reports_mail import Inbox, MailServer
from tests.waiting import wait_until

pytestmark = pytest.mark.needs("dovecot", "smtpd")
CITIZEN = "zhangsan@citizen.test"
PLATFORM = "kunming"
TEXT = "昆明市五华区华山南路的路灯坏了一个星期，晚上很黑，请尽快修理。"


def gbk_mail(subject: str, text: str, sender: str = CITIZEN, **headers: str) -> bytes:
    """A citizen's mail as Chinese mail clients send it: GBK body (base64) and GBK-encoded headers."""
    msg = MIMEText(text, "plain", "gbk")
    msg["Subject"] = Header(subject, "gbk")
    msg["From"] = f"{Header('张三', 'gbk').encode()} <{sender}>"
    msg["To"] = "12345@kunming.test"
    msg["Message-ID"] = make_msgid(domain="citizen.test")
    for k, v in headers.items():
        msg[k.replace("_", "-")] = v
    return msg.as_bytes()


class MailWorld:
    def __init__(self, app: Any, dovecot: Dovecot, inbox: Inbox, smtp: MailServer) -> None:
        self.app, self.dovecot, self.inbox, self.smtp = app, dovecot, inbox, smtp

    async def rows(self, model: Any, *where: Any) -> list[Any]:
        async with self.app.state.runtime.db.sessionmaker() as s:
            return list(await s.scalars(select(model).where(*where).order_by(model.id)))

    def mails_to(self, address: str) -> list[email.message.EmailMessage]:
        return [m for rcpt, m in self.inbox.mails if address in rcpt]


@pytest.fixture
async def world(tmp_path: Path, db_url: str) -> AsyncIterator[MailWorld]:
    dovecot = Dovecot(tmp_path / "dovecot", free_port())
    inbox = Inbox()
    smtp = MailServer(inbox)
    try:  # stopped (by PID) even when a start fails half-way
        dovecot.start()
        smtp.start()
        box = MailboxSetting(
            platform=PLATFORM, host="127.0.0.1", port=dovecot.port, tls="none", user=dovecot.user,
            password=dovecot.password,
        )  # fmt: skip
        settings = make_settings(
            tmp_path, db_url, mailboxes=[box], mail_poll_s=0.3, smtp_host="127.0.0.1", smtp_port=smtp.port,
            smtp_from="12345@kunming.test",
        )  # fmt: skip
        write_rules(settings.var_dir, "sweep_interval_s: 0.3\noutbox_retry_s: 0.5\n")
        async with running_app(settings) as (app, _client):
            yield MailWorld(app, dovecot, inbox, smtp)
    finally:
        smtp.stop()
        dovecot.stop()


async def test_gbk_mail_becomes_case_acknowledged_and_reply_joins_it(world: MailWorld) -> None:
    world.dovecot.deliver(gbk_mail("路灯坏了", TEXT))

    msgs = await wait_until(lambda: world.rows(IntakeMessage, IntakeMessage.channel == "email"), 60,
                            "the mail taken in from the IMAP mailbox")  # fmt: skip
    [case] = await world.rows(Case, Case.id == msgs[0].case_id)
    assert (case.channel, case.platform, case.summary) == ("email", PLATFORM, "路灯坏了")
    assert TEXT in case.detail  # GBK decoded right
    assert msgs[0].sender == CITIZEN

    acks = await wait_until(lambda: world.mails_to(CITIZEN), 60, "the acknowledgement over SMTP")
    ack = acks[0]
    assert case.number in str(ack["Subject"]) and case.number in ack.get_content()
    await wait_until(lambda: world.dovecot.unseen() == [], 30, "the mail flagged \\Seen once handled")
    out = await wait_until(lambda: _status(world, case.id, "submitted"), 30, "the outbox row marked submitted")
    assert out.gateway_ref == str(ack["Message-ID"])[:64]

    # the citizen answers the acknowledgement (its subject carries the case number)
    world.dovecot.deliver(gbk_mail(f"Re: {ack['Subject']}", "补充：路灯在华山南路 12 号门口。",
                                   In_Reply_To=str(ack["Message-ID"])))  # fmt: skip
    joined = await wait_until(
        lambda: world.rows(IntakeMessage, IntakeMessage.channel == "email", IntakeMessage.outcome == "joined"),
        60, "the reply taken in",
    )  # fmt: skip
    assert joined[0].case_id == case.id
    async with world.app.state.runtime.db.sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(Case)) == 1
        notes = list(await s.scalars(select(CaseEvent.note).where(CaseEvent.case_id == case.id)))
    assert any("华山南路 12 号" in (n or "") for n in notes)
    second = await wait_until(lambda: world.mails_to(CITIZEN)[1:], 60, "the reply's acknowledgement")
    assert "补充已收到" in str(second[0]["Subject"]) and case.number in str(second[0]["Subject"])

    # an agent answers it directly: the citizen, who wrote, gets the answer by mail
    app = world.app
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hotline.test") as c:
        await add_user(app, "km.agent", "agent", platform=PLATFORM)
        r = await c.post(
            f"/api/cases/{case.number}/transitions", json={"action": "answer", "note": "路灯已报修，三日内修复。"},
            headers=await login(c, "km.agent"),
        )  # fmt: skip
        assert r.status_code == 200, r.text
    answer = await wait_until(lambda: world.mails_to(CITIZEN)[2:], 60, "the answer by mail")
    assert case.number in str(answer[0]["Subject"]) and "三日内修复" in answer[0].get_content()


async def test_mail_read_again_after_a_crash_counts_once(world: MailWorld) -> None:
    """The reader crashed after its commit but before flagging the message \\Seen: read again, it is
    neither a second case nor a second acknowledgement."""
    world.dovecot.deliver(gbk_mail("路灯坏了", TEXT))
    await wait_until(lambda: world.dovecot.unseen() == [], 60, "the mail handled")
    conn = world.dovecot.client()
    try:
        conn.select("INBOX")
        typ, data = conn.uid("STORE", "1:*", "-FLAGS", "(\\Seen)")  # as if the flag had never been set
        assert typ == "OK", data
    finally:
        conn.logout()
    assert world.dovecot.unseen() != []
    await wait_until(lambda: world.dovecot.unseen() == [], 60, "the mail handled again")
    async with world.app.state.runtime.db.sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(Case)) == 1
        assert await s.scalar(select(func.count()).select_from(IntakeMessage)) == 1
        acks = await s.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.channel == "email"))
    assert acks == 1


def _many_parts(n: int) -> bytes:
    msg = MIMEMultipart()
    msg["From"] = "evil@spam.test"
    msg["Subject"] = "领奖通知"
    msg["Message-ID"] = make_msgid(domain="spam.test")
    for i in range(n):
        msg.attach(MIMEText(f"part {i}", "plain", "utf-8"))
    return msg.as_bytes()


def _huge() -> bytes:
    return gbk_mail("大附件", "x" * (11 * 1024 * 1024), sender="huge@spam.test")


async def test_hostile_mail_is_refused_kept_and_shown_to_the_admin(
    world: MailWorld, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    world.dovecot.deliver(_many_parts(60))
    world.dovecot.deliver(_huge())
    world.dovecot.deliver(gbk_mail("路灯坏了", TEXT))  # a genuine one after them is still taken in

    refused = await wait_until(
        lambda: _two(world), 60, "both hostile mails kept as refused"
    )  # fmt: skip
    await wait_until(lambda: world.rows(IntakeMessage), 60, "the genuine mail taken in")
    await wait_until(lambda: world.dovecot.unseen() == [], 30, "all three flagged \\Seen")
    by_sender = {r.sender_masked: r for r in refused}
    parts, huge = by_sender["e***@spam.test"], by_sender["h***@spam.test"]
    assert "邮件分段超过 50 个" in parts.reason and parts.kept == "message"
    assert "字节，超过上限" in huge.reason and huge.kept == "header" and huge.size > 11 * 1024 * 1024
    assert _kept(parts.path).count(b"Content-Type: text/plain") == 60  # the whole message kept
    assert b"Subject:" in _kept(huge.path) and len(_kept(huge.path)) < 64 * 1024  # its header only
    async with world.app.state.runtime.db.sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(Case)) == 1  # only the genuine one

    app = world.app
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hotline.test") as c:
        await add_user(app, "mailadmin", "admin")
        await add_user(app, "agent7", "agent")
        shown = await c.get("/api/mail/refused", headers=await login(c, "mailadmin"))
        assert shown.status_code == 200
        reasons = {r["sender_masked"]: r["reason"] for r in shown.json()}
        assert "邮件分段超过 50 个" in reasons["e***@spam.test"]
        assert "evil@spam.test" not in shown.text and "huge@spam.test" not in shown.text
        assert (await c.get("/api/mail/refused", headers=await login(c, "agent7"))).status_code == 403
        assert (await c.get("/api/mail/refused")).status_code in (401, 403)  # not logged in
        page = await c.get("/ui/mail")
        assert page.status_code == 200 and "拒收邮件" in page.text and "拒收原因" in page.text
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("app"))  # ours, not aiosmtpd
    assert "refused a message from e***@spam.test" in logged
    assert "evil@spam.test" not in logged and "huge@spam.test" not in logged and CITIZEN not in logged


def _kept(path: str) -> bytes:
    return Path(path).read_bytes()


async def _two(world: MailWorld) -> list[RefusedMail] | None:
    rows = await world.rows(RefusedMail)
    return rows if len(rows) == 2 else None


async def test_smtp_down_keeps_the_acknowledgement_until_it_is_back(world: MailWorld) -> None:
    world.smtp.stop()
    world.dovecot.deliver(gbk_mail("噪音扰民", "楼下餐馆每天夜里十二点后还在营业，噪音很大。"))
    msgs = await wait_until(lambda: world.rows(IntakeMessage), 60, "the mail taken in")
    case_id = msgs[0].case_id

    async def failing() -> OutboxMessage | None:
        rows = await world.rows(OutboxMessage, OutboxMessage.case_id == case_id, OutboxMessage.channel == "email")
        return rows[0] if rows and rows[0].attempts >= 2 else None

    waiting = await wait_until(failing, 60, "the acknowledgement retried while SMTP is down")
    assert waiting.status == "pending" and waiting.last_error and waiting.sent_at is None
    assert world.inbox.mails == []

    world.smtp.start()  # the same port
    acks = await wait_until(lambda: world.mails_to(CITIZEN), 120, "the acknowledgement once SMTP is back")
    [case] = await world.rows(Case, Case.id == case_id)
    assert case.number in str(acks[0]["Subject"])
    sent = await wait_until(
        lambda: _status(world, case_id, "submitted"), 30, "the outbox row marked submitted"
    )  # fmt: skip
    # attempts count hand-overs as they start: the one in flight when the server came back may be the one
    assert sent.last_error is None and sent.attempts >= 2


async def _status(world: MailWorld, case_id: int, status: str) -> OutboxMessage | None:
    rows = await world.rows(OutboxMessage, OutboxMessage.case_id == case_id, OutboxMessage.status == status)
    return rows[0] if rows else None


async def test_a_mailbox_that_cannot_be_read_shows_on_health(world: MailWorld) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=world.app), base_url="http://hotline.test") as c:

        async def mail_health() -> dict[str, Any]:
            return (await c.get("/health")).json()

        up = await wait_until(mail_health, 30, "a first round", check=lambda h: h.get("mail", {}).get("last_reads"))
        assert all(r["ok"] for r in up["mail"]["last_reads"].values())
        assert world.dovecot.password not in str(up)
        world.dovecot.stop()
        down = await wait_until(
            mail_health, 60, "the failed round on /health", check=lambda h: "reason" in h.get("mail", {})
        )  # fmt: skip
        assert "cannot read mailbox" in down["mail"]["reason"] and down["status"] != "ok"
        assert any(w.startswith("mail: cannot read mailbox") for w in down["warnings"])


async def test_mail_with_nul_characters_becomes_a_case_cleaned(world: MailWorld) -> None:
    """NUL characters (which PostgreSQL cannot store in text) are removed, not a reason to lose the mail."""
    world.dovecot.deliver(gbk_mail("路灯\x00坏了", "路灯\x00坏了一个星期，请尽快修理。"))
    msgs = await wait_until(lambda: world.rows(IntakeMessage), 60, "the mail taken in")
    [case] = await world.rows(Case, Case.id == msgs[0].case_id)
    assert case.summary == "路灯坏了" and "路灯坏了一个星期" in case.detail
    assert "NUL" in (msgs[0].note or "")
    assert await world.rows(RefusedMail) == []


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_two_processes_on_postgresql_one_reads_the_mailbox(tmp_path: Path, db_url: str) -> None:
    """Two runtimes on one database (as `hotline run --workers 2`): the mailbox is read by the leader of
    jobs:mail only; every mail is one case and one acknowledgement."""
    from app.mail.reader import MAIL_READS

    dovecot = Dovecot(tmp_path / "dovecot", free_port())
    try:  # stopped (by PID) even when its start fails half-way
        dovecot.start()
        box = MailboxSetting(platform=PLATFORM, host="127.0.0.1", port=dovecot.port, tls="none",
                             user=dovecot.user, password=dovecot.password)  # fmt: skip

        def settings(name: str) -> Any:
            s = make_settings(tmp_path / name, db_url, mailboxes=[box], mail_poll_s=0.2)
            write_rules(s.var_dir)
            return s

        async with running_app(settings("a")) as (app_a, _), running_app(settings("b")) as (app_b, _):
            for i in range(3):
                dovecot.deliver(gbk_mail(f"第{i}件事", f"第{i}件事：{'噪音' * (i + 3)}扰民", sender=f"c{i}@citizen.test"))

            async def three() -> bool:
                async with app_a.state.runtime.db.sessionmaker() as s:
                    return await s.scalar(select(func.count()).select_from(Case)) == 3

            await wait_until(three, 60, "three cases")
            await wait_until(lambda: dovecot.unseen() == [], 30, "all three flagged \\Seen")
            readers = [a for a in (app_a, app_b) if a.state.runtime.get(MAIL_READS) is not None]
            assert len(readers) == 1
            async with app_a.state.runtime.db.sessionmaker() as s:
                assert await s.scalar(select(func.count()).select_from(IntakeMessage)) == 3
                acks = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.channel == "email")
                assert await s.scalar(acks) == 3
    finally:
        dovecot.stop()


async def test_mail_attachments_are_kept_with_the_case(world: MailWorld) -> None:
    from email.mime.application import MIMEApplication

    from app.intake.models import IntakeAttachment

    msg = MIMEMultipart()
    msg["From"] = CITIZEN
    msg["Subject"] = Header("路面塌陷", "gbk")
    msg["Message-ID"] = make_msgid(domain="citizen.test")
    msg.attach(MIMEText("北京路有一处路面塌陷，照片见附件。", "plain", "gbk"))
    photo = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40
    part = MIMEApplication(photo, "octet-stream")
    part.add_header("Content-Disposition", "attachment", filename=("gbk", "", "现场照片.jpg"))  # RFC 2231
    msg.attach(part)
    world.dovecot.deliver(msg.as_bytes())

    kept = await wait_until(lambda: world.rows(IntakeAttachment), 60, "the attachment kept")
    [case] = await world.rows(Case, Case.id == kept[0].case_id)
    assert "路面塌陷" in case.detail and kept[0].filename == "现场照片.jpg"
    assert kept[0].size == len(photo) and _kept(kept[0].path) == photo
