"""并号 through the real sandbox Asterisk: a citizen dials a merged department number (12315), hears the
one-sentence notice once, reaches the agents of their own prefecture, and the call, the case taken on
it and the wallboard all carry the source hotline. An unknown dialled number routes like 12345."""

from __future__ import annotations

from app.simcall import place_call
from app.telephony.lifecycle import TELEPHONY
from tests.conftest import add_user, login, running_app
from tests.system.conftest import add_sim_members, backend_settings, write_config
from tests.waiting import wait_until

KUNMING = "13987112345"


async def _call_row(app, uniqueid: str, **expect) -> dict:
    from app.calls import service

    async def row() -> dict | None:
        async with app.state.runtime.db.sessionmaker() as s:
            call = await service.get_call(s, uniqueid)
        if call is None:
            return None
        return {k: getattr(call, k) for k in ("source_hotline", "did", "queue", "platform", "queued_at")}

    def ok(r: dict | None) -> bool:
        return r is not None and r["queued_at"] is not None and all(r[k] == v for k, v in expect.items())

    return await wait_until(row, 30, f"call {uniqueid} to show {expect}", check=ok)


async def test_merged_number_reaches_the_prefecture_with_its_source_hotline(tmp_path, db_url, asterisk):
    settings = backend_settings(tmp_path, db_url, asterisk, platform_config=write_config(tmp_path))
    async with running_app(settings) as (app, client):
        members = await add_sim_members(app, ["q-kunming"])
        conn = app.state.runtime.require(TELEPHONY).connection_for(None)
        try:
            # citizens' calls (as_citizen): a simulated `hotline call` is a test and counts in no figure
            merged = await place_call(
                asterisk.server, KUNMING, conn=conn, dialled="12315", timeout=40, as_citizen=True
            )
            # the trunk delivers the department's old fixed-line form of the number
            trunked = await place_call(
                asterisk.server, KUNMING, conn=conn, trunk="trunk-kunming", dialled="087112369", timeout=40,
                as_citizen=True,
            )
            unknown = await place_call(
                asterisk.server, KUNMING, conn=conn, dialled="99999", timeout=40, as_citizen=True
            )
        finally:
            await members.remove()

        assert merged.error is None, merged.to_dict()
        # the skill group that answers 12315 waits in the platform queue's skill queue (callflow.skills)
        assert (merged.route, merged.queue, merged.source) == ("queue", "q-kunming-skill-market", "12315"), merged.to_dict()
        assert merged.notice == "notice-merged-12315"  # Asterisk played the notice before the queue
        assert merged.events.count("UserEvent:HotlineNotice") == 1  # once
        assert (trunked.queue, trunked.source, trunked.notice) == ("q-kunming-skill-environment", "12369", "notice-merged-12369")
        assert (unknown.route, unknown.queue, unknown.source) == ("queue", "q-kunming", "12345"), unknown.to_dict()
        assert unknown.notice is None and "UserEvent:HotlineNotice" not in unknown.events

        await _call_row(app, merged.uniqueid, source_hotline="12315", did="12315", queue="q-kunming")
        await _call_row(app, trunked.uniqueid, source_hotline="12369", did="087112369")
        await _call_row(app, unknown.uniqueid, source_hotline="12345", did="99999")

        await add_user(app, "prov.sup", "supervisor")
        h = await login(client, "prov.sup")
        r = await client.get("/api/calls", params={"hotline": "12315"}, headers=h)
        assert r.status_code == 200
        assert [c["uniqueid"] for c in r.json()["items"]] == [merged.uniqueid]
        assert r.json()["items"][0]["source_hotline"] == "12315"

        # the wallboard filtered by source hotline counts only that hotline's calls
        async def offered(hotline: str) -> int:
            r = await client.get("/api/stats/kpis", params={"hotline": hotline}, headers=h)
            assert r.status_code == 200, r.text
            return int(r.json()["all"]["offered"])

        assert await wait_until(lambda: offered("12315"), 30, "12315 offered", check=lambda n: n == 1) == 1
        assert await offered("12369") == 1 and await offered("12345") == 1 and await offered("all") == 3
        bad = await client.get("/api/stats/kpis", params={"hotline": "nope"}, headers=h)
        assert bad.status_code == 400 and "来源热线" in bad.json()["detail"]
        lines = (await client.get("/api/stats/hotlines", headers=h)).json()
        assert {"code": "12315", "name": "12315市场监管投诉举报热线", "kind": "merged"} in lines

        # the case taken on the call carries the source hotline, with the category it prefills
        r = await client.post(
            "/api/cases",
            headers=h,
            json={"summary": "商品质量投诉", "platform": "kunming", "category_code": "0501",
                  "citizen_phone": KUNMING, "call_uniqueid": merged.uniqueid},
        )  # fmt: skip
        assert r.status_code == 201, r.text
        number = r.json()["case"]["number"]
        case = (await client.get(f"/api/cases/{number}", headers=h)).json()
        assert case["source_hotline"] == "12315" and case["category_code"] == "0501"
