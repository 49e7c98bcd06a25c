"""SMS through a real Kannel gateway on loopback (bearerbox + smsbox, Kannel's fakesmsc as the mobile
network): a citizen's SMS becomes a case of the platform of their number; the receipt SMS with the
case number reaches the handset; the outbox shows queued → submitted → delivered from the gateway's
own delivery report; a gateway that is down keeps messages queued until it is back; forged delivery
reports and calls from elsewhere are refused."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.cases.models import Case
from app.intake.models import IntakeMessage
from app.outbox.models import OutboxMessage
from tests.browser import live_server
from tests.conftest import free_port, make_settings
from tests.integration.test_cases_helpers import write_rules
from tests.kannel import PASSWORD, USER, Kannel
from tests.waiting import wait_until

pytestmark = pytest.mark.needs("kannel")
CITIZEN = "13888123456"  # a Kunming mobile number
TEXT = "我家楼下的路灯坏了一个星期，晚上很黑，请尽快修理。"


@pytest.fixture
async def gateway(tmp_path: Path, db_url: str) -> AsyncIterator[tuple[Any, str, Kannel]]:
    port = free_port()
    kannel = Kannel(tmp_path / "kannel", inbound_url=f"http://127.0.0.1:{port}/api/sms/inbound")
    kannel.dir.mkdir()
    kannel.write_conf()
    settings = make_settings(
        tmp_path, db_url, sms_gateway_url=kannel.sendsms_url, sms_gateway_username=USER,
        sms_gateway_password=PASSWORD, sms_callback_base=f"http://127.0.0.1:{port}",
    )  # fmt: skip
    write_rules(settings.var_dir, "sweep_interval_s: 0.3\noutbox_retry_s: 0.5\n")
    try:
        async with live_server(settings, port=port) as (app, base):
            kannel.start_boxes()
            yield app, base, kannel
    finally:
        kannel.stop_all()


async def _outbox(app: Any, case_id: int) -> list[OutboxMessage]:
    async with app.state.runtime.db.sessionmaker() as s:
        q = select(OutboxMessage).where(OutboxMessage.case_id == case_id, OutboxMessage.channel == "sms")
        return list(await s.scalars(q.order_by(OutboxMessage.id)))


async def test_citizen_sms_becomes_case_and_receipt_is_delivered(gateway: tuple[Any, str, Kannel]) -> None:
    app, base, kannel = gateway
    kannel.start_phone(CITIZEN, TEXT)

    async def case() -> Case | None:
        async with app.state.runtime.db.sessionmaker() as s:
            return await s.scalar(select(Case).where(Case.channel == "sms"))

    c = await wait_until(case, 60, "the citizen's SMS to become a case")
    assert c.platform == "kunming" and c.citizen_phone == CITIZEN  # routed by the number's region
    assert TEXT in c.detail and c.summary.startswith("我家楼下的路灯坏了")

    # the handset receives the receipt with the case number, in Chinese
    got = await wait_until(kannel.handed_to_network, 60, "the receipt SMS to reach the handset")
    sender, receiver, text = got[0]
    assert (sender, receiver) == ("12345", CITIZEN) and c.number in text and "已受理" in text

    # the outbox says what happened, from the gateway's own delivery report
    msgs = await wait_until(lambda: _outbox(app, c.id), 60, "the gateway's delivery report",
                            check=lambda ms: ms and ms[0].status == "delivered" and ms[0].sent_at)  # fmt: skip
    assert msgs[0].sender == "kannel" and msgs[0].sent_at is not None and msgs[0].delivered_at is not None

    async with httpx.AsyncClient(base_url=base) as client:
        # a forged delivery report (wrong token) is refused and changes nothing
        r = await client.get(f"/api/sms/dlr/{msgs[0].id}/{'0' * 32}", params={"type": 2})
        assert r.status_code == 403
        assert (await _outbox(app, c.id))[0].status == "delivered"
        health = (await client.get("/health")).json()
    assert health["sms_gateway"]["configured"] is True and "sms_gateway" not in " ".join(health["warnings"])

    # the same SMS delivered again by the gateway (same Kannel id) does not make a second case
    async with app.state.runtime.db.sessionmaker() as s:
        msg = await s.scalar(select(IntakeMessage))
    async with httpx.AsyncClient(base_url=base) as client:
        r = await client.post("/api/sms/inbound", params={"id": msg.external_id},
                              content=TEXT.encode(), headers={"X-Kannel-From": CITIZEN})  # fmt: skip
        assert r.status_code == 200
    async with app.state.runtime.db.sessionmaker() as s:
        assert len(list(await s.scalars(select(Case).where(Case.channel == "sms")))) == 1


async def test_gateway_down_keeps_sms_queued_until_it_is_back(gateway: tuple[Any, str, Kannel]) -> None:
    app, base, kannel = gateway
    kannel.start_phone(CITIZEN, "测试：网络连接")  # the network is up (nothing else is checked of this one)
    kannel.stop("smsbox")  # the gateway's HTTP side is down
    from app.cases.schemas import CaseCreate
    from app.cases.service import create_case

    async with app.state.runtime.db.sessionmaker() as s:
        case = await create_case(
            s, CaseCreate(channel="phone", summary="噪音扰民", citizen_phone="13987112345"), None
        )
        await s.commit()
    msgs = await wait_until(lambda: _outbox(app, case.id), 60, "a failed attempt while the gateway is down",
                            check=lambda ms: ms and ms[0].last_error)  # fmt: skip
    assert msgs[0].status == "pending" and msgs[0].last_error  # queued, not sent, not lost
    kannel.start_smsbox()
    msgs = await wait_until(lambda: _outbox(app, case.id), 90, "delivery once the gateway is back",
                            check=lambda ms: ms and ms[0].status == "delivered")  # fmt: skip
    got = await wait_until(kannel.handed_to_network, 30, "the SMS on the handset",
                           check=lambda g: any(case.number in t for _, _, t in g))  # fmt: skip
    assert any(r == "13987112345" for _, r, _ in got)
