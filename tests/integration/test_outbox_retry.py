"""Outbox: a gateway that is down leaves messages pending (attempts, last_error); they go out later.
No gateway at all: SMS wait untouched and /health says so; nothing is ever called sent that was not."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.cases.scheduler import run_once
from app.outbox.models import OutboxMessage
from app.outbox.service import OUTBOX_SENDERS, LogSender, Outgoing, Rejected, Sender, Submission
from app.outbox.worker import deliver_due
from tests.integration.test_cases_helpers import world


class FlakyGateway:
    name = "flaky-sms"

    def __init__(self) -> None:
        self.up = False
        self.reject = False
        self.sent: list[tuple[str, str]] = []

    async def send(self, message: Outgoing) -> Submission:
        if self.reject:
            raise Rejected("invalid number")
        if not self.up:
            raise ConnectionError("gateway unreachable")
        self.sent.append((message.recipient, message.body))
        return Submission("submitted", ref=f"gw-{message.id}")


async def test_down_gateway_keeps_messages_and_retries(tmp_path, db_url):
    async with world(tmp_path, db_url) as w:
        gw = FlakyGateway()
        assert isinstance(gw, Sender)
        w.runtime.put(OUTBOX_SENDERS, {"sms": gw, "unit": LogSender()})
        n = (await w.create())["case"]["number"]  # receipt SMS to the citizen
        await w.act("km.agent", n, "dispatch", unit_code="km-water")  # notice to the unit (log sender)

        got = await run_once(w.runtime)
        assert got["logged"] >= 1 and got["retry"] == 1  # (the sweep may add a near-due notice, by the clock)
        async with w.session() as s:
            sms = await s.scalar(select(OutboxMessage).where(OutboxMessage.channel == "sms"))
            assert sms.status == "pending" and sms.attempts == 1 and "unreachable" in sms.last_error
            unit = await s.scalar(select(OutboxMessage).where(OutboxMessage.kind == "dispatch"))
            assert unit.status == "logged" and unit.sender == "log"  # written to the log, not "sent"
            retry_at = sms.next_attempt_at

        # not before its retry time
        assert (await deliver_due(w.session, {"sms": gw}, now=retry_at - timedelta(seconds=1)))[
            "submitted"
        ] == 0
        gw.up = True
        assert (await deliver_due(w.session, {"sms": gw}, now=retry_at))["submitted"] == 1
        assert gw.sent[0][0] == "13912342345" and n in gw.sent[0][1]
        async with w.session() as s:
            sms = await s.scalar(select(OutboxMessage).where(OutboxMessage.channel == "sms"))
            assert sms.status == "submitted" and sms.attempts == 2 and sms.last_error is None
            assert sms.gateway_ref == f"gw-{sms.id}" and sms.delivered_at is None  # delivery not yet known


async def test_gives_up_only_after_max_attempts(tmp_path, db_url):
    async with world(tmp_path, db_url) as w:
        await w.create()
        gw = FlakyGateway()
        for _ in range(3):
            async with w.session() as s:
                msg = await s.scalar(select(OutboxMessage))
            got = await deliver_due(w.session, {"sms": gw}, now=msg.next_attempt_at, max_attempts=3)
        assert got["failed"] == 1 and got["submitted"] == 0 and got["retry"] == 0
        async with w.session() as s:
            msg = await s.scalar(select(OutboxMessage))
            assert msg.status == "failed" and msg.attempts == 3 and msg.body  # kept, never deleted
        health = (await w.client.get("/health")).json()
        assert health["outbox"]["failed"] == 1 and any("outbox: 1 failed" in x for x in health["warnings"])


async def test_rejected_by_gateway_fails_at_once(tmp_path, db_url):
    async with world(tmp_path, db_url) as w:
        await w.create()
        gw = FlakyGateway()
        gw.reject = True
        got = await deliver_due(w.session, {"sms": gw})
        assert got["failed"] == 1
        async with w.session() as s:
            msg = await s.scalar(select(OutboxMessage))
            assert msg.status == "failed" and msg.attempts == 1 and "invalid number" in msg.last_error


async def test_no_gateway_configured_sms_wait_and_health_says_so(tmp_path, db_url):
    async with world(tmp_path, db_url) as w:  # default settings: no SMS gateway
        n = (await w.create())["case"]["number"]
        await w.act("km.agent", n, "dispatch", unit_code="km-water")
        for _ in range(3):
            await run_once(w.runtime)
        async with w.session() as s:
            sms = await s.scalar(select(OutboxMessage).where(OutboxMessage.channel == "sms"))
            assert sms.status == "pending" and sms.attempts == 0 and sms.sent_at is None  # never tried
        health = (await w.client.get("/health")).json()
        assert health["status"] == "warning"
        assert health["outbox"]["waiting_for_gateway"] == {"sms": 1}
        assert any("no sms gateway configured: 1 message(s) waiting" in x for x in health["warnings"])
        assert health["sms_gateway"]["configured"] is False
