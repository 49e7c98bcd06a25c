"""Intake through the SMS gateway's HTTP calls (SQLite and PostgreSQL): routing by the citizen's
number or place, de-duplication against the same citizen's open case, idempotent re-delivery,
delivery reports signed per message, calls from elsewhere refused."""

from __future__ import annotations

from sqlalchemy import func, select

from app.cases.models import Case, CaseEvent
from app.intake.models import IntakeMessage
from app.outbox.models import OutboxMessage
from app.sms.kannel import dlr_token
from tests.conftest import make_settings, running_app
from tests.integration.test_cases_helpers import write_rules

DALI = "13987212345"


async def _sms(client, sender: str, text: str, id: str, **kw):
    return await client.post(
        "/api/sms/inbound", params={"id": id}, content=text.encode("utf-8"),
        headers={"X-Kannel-From": sender, "Content-Type": 'text/plain; charset="UTF-8"'}, **kw,
    )  # fmt: skip


async def _cases(app) -> list[Case]:
    async with app.state.runtime.db.sessionmaker() as s:
        return list(await s.scalars(select(Case).order_by(Case.id)))


async def test_sms_routing_dedup_and_redelivery(tmp_path, db_url):
    settings = make_settings(tmp_path, db_url)
    write_rules(settings.var_dir)
    async with running_app(settings) as (app, client):
        r = await _sms(client, DALI, "洱海边的垃圾桶满了好几天没人清理。", "k-1")
        assert r.status_code == 200 and r.text == ""
        (c,) = await _cases(app)
        assert (c.channel, c.platform, c.citizen_phone) == ("sms", "dali", DALI)  # by the number's region

        # the same message delivered again by the gateway: nothing new
        assert (await _sms(client, DALI, "洱海边的垃圾桶满了好几天没人清理。", "k-1")).status_code == 200
        # the same citizen again on the same matter: joins the open case
        assert (await _sms(client, DALI, "洱海边垃圾桶满了好几天没人清理！！", "k-2")).status_code == 200
        assert len(await _cases(app)) == 1
        async with app.state.runtime.db.sessionmaker() as s:
            ev = await s.scalar(select(CaseEvent).where(CaseEvent.action == "follow_up"))
            assert ev is not None and ev.case_id == c.id and ev.data["channel"] == "sms"
            outcomes = [m.outcome for m in await s.scalars(select(IntakeMessage).order_by(IntakeMessage.id))]
            assert outcomes == ["created", "joined"]
            receipts = await s.scalar(select(func.count()).select_from(OutboxMessage))
            assert receipts == 1  # one receipt SMS: the join did not send a second

        # a different matter from the same citizen, naming a place in Kunming: a new case, there
        assert (await _sms(client, DALI, "我在昆明市五华区出差，酒店附近施工噪音到半夜。", "k-3")).status_code == 200
        cases = await _cases(app)
        assert [x.platform for x in cases] == ["dali", "kunming"]

        # a number that is no Yunnan number: the provincial platform
        assert (await _sms(client, "13912342345", "咨询社保转移手续", "k-4")).status_code == 200
        assert (await _cases(app))[-1].platform == "province"


async def test_gateway_calls_refused_from_elsewhere_and_forged_reports(tmp_path, db_url):
    settings = make_settings(tmp_path, db_url, sms_gateway_addresses=["192.0.2.7"])  # not the test client
    write_rules(settings.var_dir)
    async with running_app(settings) as (app, client):
        r = await _sms(client, DALI, "路灯坏了", "x-1")
        assert r.status_code == 403 and await _cases(app) == []


async def test_delivery_reports_only_forward_and_signed(tmp_path, db_url):
    settings = make_settings(tmp_path, db_url)
    write_rules(settings.var_dir)
    secret = settings.sms_callback_secret
    async with running_app(settings) as (app, client):
        await _sms(client, DALI, "小区停水了", "k-9")
        async with app.state.runtime.db.sessionmaker() as s:
            msg = await s.scalar(select(OutboxMessage))
            msg.attempts, msg.status = 1, "submitted"  # as the delivery boundary leaves it
            await s.commit()
        url = f"/api/sms/dlr/{msg.id}/{dlr_token(secret, msg.id)}"
        other = f"/api/sms/dlr/{msg.id}/{dlr_token(secret, msg.id + 1)}"  # a token for another message
        assert (await client.get(other, params={"type": 2})).status_code == 403
        assert (await client.get(url, params={"type": 99})).status_code == 422
        assert (await client.get(url, params={"type": 8})).text == "submitted"  # SMSC accepted: no change
        assert (await client.get(url, params={"type": 1})).text == "delivered"
        assert (await client.get(url, params={"type": 2})).text == "delivered"  # never backwards
        missing = 10_000
        r = await client.get(f"/api/sms/dlr/{missing}/{dlr_token(secret, missing)}", params={"type": 1})
        assert r.status_code == 404
