"""The dialplan's HotlineRoute event is the call's own account of its route: when the FastAGI
process's record of the decision never arrives (it was restarted mid-call, or its write failed), the
call still counts for the platform and queue the event names. Seen in a loaded run of the AGI fault
test: a routed call after the restart stood with no platform. SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import select

from agi_handlers.incoming import variables
from app.calls.models import Call
from app.telephony.lifecycle import TELEPHONY
from asterisk_conf.dialplan import ROUTE_EVENT
from callflow import CallContext, decide, load_config
from tests.conftest import add_user, login, make_settings, running_app


def _events(uid: str, caller: str) -> list[dict[str, str]]:
    return [
        {"Event": "UserEvent", "UserEvent": "HotlineRoute", "Uniqueid": uid, "Linkedid": uid, "Route": "queue",
         "Queue": "q-province", "Platform": "kunming", "Prefecture": "kunming", "AgiMs": "2.5",
         "Caller": caller, "Source": "12345"},
        {"Event": "QueueCallerJoin", "Queue": "q-province", "Uniqueid": uid, "Linkedid": uid,
         "CallerIDNum": caller, "Position": "1", "Count": "1"},
        {"Event": "Hangup", "Uniqueid": uid, "Linkedid": uid, "Cause-txt": "Normal Clearing"},
    ]  # fmt: skip


async def test_a_routed_call_without_the_agi_record_keeps_the_events_platform(tmp_path, db_url):
    async with running_app(make_settings(tmp_path, db_url)) as (app, client):
        tel = app.state.runtime.require(TELEPHONY)
        for ev in _events("1700000100.1", "13987110102"):
            tel.consumer.feed("main", ev)
        await tel.consumer.drained()
        await add_user(app, "root.admin", "admin")
        r = await client.get("/api/calls/1700000100.1", headers=await login(client, "root.admin"))
        assert r.status_code == 200, r.text
        call = r.json()
        assert (call["route"], call["queue"], call["platform"]) == ("queue", "q-province", "kunming"), call


def _as_asterisk_sends_it(uid: str, channel_vars: dict[str, object], **headers: str) -> dict[str, str]:
    """The HotlineRoute event as Asterisk builds it from the rendered dialplan: the variables the FastAGI
    reply set (agi_handlers.incoming.variables) substituted into ROUTE_EVENT, the arguments split at
    commas into "Header: value" lines (MSet has already dropped what it cannot carry)."""
    from agi_handlers.server import mset_command

    kept = dict(part.split("=", 1) for part in mset_command(channel_vars)[len('EXEC MSet "') : -1].split(","))
    args = re.sub(r"\$\{([A-Z_0-9]+)\}", lambda m: kept.get(m.group(1), headers.get(m.group(1), "")), ROUTE_EVENT)
    args = args.replace("${CALLERID(num)}", headers["CallerIDNum"])
    name, *fields = args[len("UserEvent(") : -1].split(",")
    ev = {"Event": "UserEvent", "UserEvent": name, "Uniqueid": uid, "Linkedid": uid, **headers}
    for f in fields:
        key, _, value = f.partition(": ")
        ev[key] = value
    return ev


async def test_the_route_event_alone_writes_the_whole_decision(tmp_path, db_url):
    """With FastAGI in processes of its own, the call row is the AMI leader's to write, from the event
    the dialplan sends after the reply: region, caller kind, number, reason (commas, brackets and
    Chinese included), trunk, channel and caller's name, not only the route."""
    config = load_config(make_settings(tmp_path, db_url).platform_config)
    ctx = CallContext(caller_id="13987110103", caller_name="张三", dnid="12345", trunk="cmcc-kunming",
                      queue_agents={"q-kunming": 0, "q-province": 3}, queue_waiting={})  # fmt: skip
    decision = decide(ctx, datetime(2026, 12, 4, 10, 0, tzinfo=UTC), config)
    assert "," in decision.reason and "(" in decision.reason, decision.reason
    uid = "1700000200.1"
    headers = {"Channel": "PJSIP/cmcc-kunming-00000001", "CallerIDNum": "13987110103", "CallerIDName": "张三",
               "HOTLINE_TRUNK": "cmcc-kunming", "HOTLINE_DID": "12345", "HOTLINE_AGI_MS": "3.1"}  # fmt: skip
    async with running_app(make_settings(tmp_path, db_url)) as (app, client):
        tel = app.state.runtime.require(TELEPHONY)
        tel.consumer.feed("main", _as_asterisk_sends_it(uid, variables(decision, config), **headers))
        await tel.consumer.drained()
        await add_user(app, "root.admin", "admin")
        r = await client.get(f"/api/calls/{uid}", headers=await login(client, "root.admin"))
        assert r.status_code == 200, r.text
        call = r.json()
        async with app.state.runtime.db.sessionmaker() as s:  # kept for the call's detail, not in the API
            row = await s.scalar(select(Call).where(Call.uniqueid == uid))
    assert {k: call[k] for k in ("route", "queue", "platform", "prefecture", "caller_kind", "caller_e164")} == {
        "route": "queue", "queue": decision.queue, "platform": "kunming", "prefecture": "kunming",
        "caller_kind": "mobile", "caller_e164": "+8613987110103",
    }  # fmt: skip
    assert call["reason"] == decision.reason
    assert row is not None and (row.trunk, row.channel, row.caller_name) == (
        "cmcc-kunming", "PJSIP/cmcc-kunming-00000001", "张三"
    )  # fmt: skip
    assert call["routed_at"] is not None and call["agi_ms"] == 3.1


async def test_a_decision_with_an_overlong_reason_is_recorded_cut_to_the_column(tmp_path, db_url):
    """A reason longer than the call row keeps (255) is cut, not a failed write that loses the call's
    decision (PostgreSQL refuses the longer value; the single process writes the decision itself)."""
    uid = "1700000400.1"
    item = {
        "uniqueid": uid, "linkedid": uid, "channel": "PJSIP/cmcc-kunming-00000002", "caller": "13987110105",
        "caller_name": None, "trunk": "cmcc-kunming", "server": "main", "at": datetime.now(UTC),
        "decision": {"route": "queue", "queue": "q-kunming", "platform": "kunming", "prefecture": "kunming",
                     "reason": "昆明来电，" * 80},
    }  # fmt: skip
    async with running_app(make_settings(tmp_path, db_url)) as (app, client):
        tel = app.state.runtime.require(TELEPHONY)
        tel.consumer.feed_decision(item)  # type: ignore[arg-type]
        await tel.consumer.drained()
        await add_user(app, "root.admin", "admin")
        r = await client.get(f"/api/calls/{uid}", headers=await login(client, "root.admin"))
    assert r.status_code == 200, r.text
    call = r.json()
    assert (call["route"], call["queue"], call["platform"]) == ("queue", "q-kunming", "kunming")
    assert call["reason"] == ("昆明来电，" * 80)[:255]
