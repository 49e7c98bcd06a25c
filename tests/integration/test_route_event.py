"""The dialplan's HotlineRoute event is the call's own account of its route: when the FastAGI
process's record of the decision never arrives (it was restarted mid-call, or its write failed), the
call still counts for the platform and queue the event names. Seen in a loaded run of the AGI fault
test: a routed call after the restart stood with no platform. SQLite and PostgreSQL."""

from __future__ import annotations

from app.telephony.lifecycle import TELEPHONY
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
