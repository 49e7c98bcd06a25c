"""The daily and monthly reports go out on schedule to the configured addresses, through the outbox and
a real SMTP server (aiosmtpd on 127.0.0.1, started and stopped by the test), once per period; a mail
server that is down leaves the report pending with its error, visible, and it goes out later."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from sqlalchemy import select

from app.cases.scheduler import run_once
from app.outbox.models import OutboxMessage
from app.reports.models import ReportDelivery
from tests.conftest import free_port, make_settings, running_app
from tests.integration.test_cases_helpers import local, write_rules
from tests.report_month import seed_calls

TO = ["director@hotline.test", "duty@hotline.test"]


class Inbox:
    def __init__(self) -> None:
        self.mails: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd)
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.mails.append((list(envelope.rcpt_tos), msg))  # type: ignore[arg-type]
        return "250 OK"

    def subjects(self) -> list[str]:
        return [str(m["Subject"]) for _, m in self.mails]


class MailServer:
    """aiosmtpd on 127.0.0.1 (its own thread), stopped and started again on the same port."""

    def __init__(self, inbox: Inbox) -> None:
        self.inbox, self.port, self.ctl = inbox, free_port(), None

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        self.ctl = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.ctl.start()

    def stop(self) -> None:
        if self.ctl is not None:
            self.ctl.stop()
            self.ctl = None


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, MailServer]]:
    inbox = Inbox()
    server = MailServer(inbox)
    server.start()
    try:
        yield inbox, server
    finally:
        server.stop()


@pytest.mark.needs("smtpd")
async def test_daily_and_monthly_reports_are_mailed_once_on_schedule(tmp_path, sqlite_url, smtp):
    inbox, ctl = smtp
    settings = make_settings(
        tmp_path, sqlite_url, smtp_host="127.0.0.1", smtp_port=ctl.port, report_recipients=TO,
        report_send_at="07:30", smtp_from="report@hotline.test",
    )  # fmt: skip
    write_rules(settings.var_dir)  # the background sweep is off: the test runs it
    async with running_app(settings) as (app, _client):
        rt = app.state.runtime
        await seed_calls(app)
        name = rt.config.name
        with time_machine.travel(local(2026, 11, 1, 7, 0), tick=True):
            await run_once(rt)  # before 07:30: the reports of the last sending moment (Oct 31)
        assert sorted(set(inbox.subjects())) == [f"{name}日报（2026-10-30）", f"{name}月报（2026年9月）"]
        assert sorted(r for r, _ in inbox.mails) == sorted([[a] for a in TO] * 2)
        inbox.mails.clear()
        with time_machine.travel(local(2026, 11, 1, 7, 31), tick=True):
            await run_once(rt)
        assert sorted(set(inbox.subjects())) == [f"{name}日报（2026-10-31）", f"{name}月报（2026年10月）"]
        monthly = next(m for _, m in inbox.mails if "月报" in str(m["Subject"]))
        assert monthly["From"] == "report@hotline.test"
        text = monthly.get_content()
        # the October figures of tests/integration/test_reports.py, computed there by hand
        for line in ("呼入量：138", "接听量：107", "接通率：77.5%", "15秒接通率：32.6%", "放弃率：22.5%"):
            assert line in text, text
        assert "昆明：" in text and "大理：" in text
        daily = next(m for _, m in inbox.mails if "日报" in str(m["Subject"])).get_content()
        assert "呼入量：4" in daily and "统计日期：2026-10-31 至 2026-10-31" in daily
        inbox.mails.clear()
        with time_machine.travel(local(2026, 11, 1, 18, 0), tick=True):
            await run_once(rt)  # the same reports are not sent twice
        assert inbox.mails == []

        ctl.stop()  # the mail server goes down: the next daily report waits, with the error
        with time_machine.travel(local(2026, 11, 2, 7, 31), tick=True):
            await run_once(rt)
        async with rt.db.sessionmaker() as s:
            waiting = list(await s.scalars(select(OutboxMessage).where(OutboxMessage.status == "pending")))
            assert len(waiting) == 2 and all(m.channel == "email" for m in waiting)
            assert all("ConnectionRefusedError" in (m.last_error or "") for m in waiting), waiting[
                0
            ].last_error
            assert "2026-11-01" in waiting[0].body.splitlines()[0]
            kinds = sorted((d.kind, d.period) for d in await s.scalars(select(ReportDelivery)))
        assert ("daily", "2026-11-01") in kinds and len(kinds) == 5
        ctl.start()
        with time_machine.travel(local(2026, 11, 2, 9, 0), tick=True):
            await run_once(rt)  # the outbox retries (its back-off has passed)
        assert sorted(set(inbox.subjects())) == [f"{name}日报（2026-11-01）"]
