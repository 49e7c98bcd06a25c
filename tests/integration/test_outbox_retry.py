"""Outbox: a gateway that is down leaves messages pending (attempts, last_error); they go out later."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.cases.scheduler import run_once
from app.outbox.models import OutboxMessage
from app.outbox.service import LogSender, SmsGateway, deliver_pending
from tests.integration.test_cases_helpers import world


class FlakyGateway:
    name = "flaky-sms"

    def __init__(self) -> None:
        self.up = False
        self.sent: list[tuple[str, str]] = []

    async def send(self, recipient: str, body: str) -> None:
        if not self.up:
            raise ConnectionError("gateway unreachable")
        self.sent.append((recipient, body))


async def test_down_gateway_keeps_messages_and_retries(tmp_path, db_url):
    async with world(tmp_path, db_url) as w:
        gw = FlakyGateway()
        assert isinstance(gw, SmsGateway)
        w.runtime.components["outbox_senders"] = {"sms": gw, "*": LogSender()}
        n = (await w.create())["case"]["number"]  # receipt SMS to the citizen
        await w.act("km.agent", n, "dispatch", unit_code="km-water")  # notice to the unit (log sender)

        got = await run_once(w.runtime)
        assert got["sent"] >= 1 and got["retry"] == 1  # (the sweep may add a near-due notice, by the clock)
        async with w.session() as s:
            sms = await s.scalar(select(OutboxMessage).where(OutboxMessage.channel == "sms"))
            assert sms.status == "pending" and sms.attempts == 1 and "unreachable" in sms.last_error
            unit = await s.scalar(select(OutboxMessage).where(OutboxMessage.kind == "dispatch"))
            assert unit.status == "sent" and unit.sender == "log"
            retry_at = sms.next_attempt_at

        async with w.session() as s:  # not before its retry time
            assert (await deliver_pending(s, {"sms": gw}, now=retry_at - timedelta(seconds=1)))["sent"] == 0
        gw.up = True
        async with w.session() as s:
            assert (await deliver_pending(s, {"sms": gw}, now=retry_at))["sent"] == 1
            await s.commit()
        assert gw.sent[0][0] == "13912342345" and n in gw.sent[0][1]
        async with w.session() as s:
            sms = await s.scalar(select(OutboxMessage).where(OutboxMessage.channel == "sms"))
            assert sms.status == "sent" and sms.attempts == 2 and sms.last_error is None


async def test_gives_up_only_after_max_attempts(tmp_path, db_url):
    async with world(tmp_path, db_url) as w:
        await w.create()
        gw = FlakyGateway()
        async with w.session() as s:
            for _ in range(3):
                msg = await s.scalar(select(OutboxMessage))
                got = await deliver_pending(s, {"sms": gw}, now=msg.next_attempt_at, max_attempts=3)
            await s.commit()
        assert got == {"sent": 0, "retry": 0, "failed": 1}
        async with w.session() as s:
            msg = await s.scalar(select(OutboxMessage))
            assert msg.status == "failed" and msg.attempts == 3 and msg.body  # kept, never deleted
        health = (await w.client.get("/health")).json()
        assert health["outbox"]["failed"] == 1 and any("outbox: 1 failed" in x for x in health["warnings"])
