"""The service run with the second province's YAML (callflow/configs/ningxia.yaml) and no code
change: case numbers carry that file's prefixes, the regional platform's staff see every city's
cases, a city's staff only their own, dispatch and transfer use the file's platforms."""

from __future__ import annotations

from app.auth.scope import use_config
from app.cases import service
from app.cases.context import of_runtime
from app.cases.schemas import CaseCreate
from app.units.schemas import UnitCreate
from app.units.service import create_unit
from callflow import load_config
from callflow.config import default_config_path
from tests.conftest import add_user, login, make_settings, running_app
from tests.integration.test_cases_helpers import write_rules

NINGXIA = default_config_path().with_name("ningxia.yaml")


async def test_cases_follow_the_second_province(tmp_path, db_url):
    settings = make_settings(tmp_path, db_url, platform_config=NINGXIA)
    write_rules(settings.var_dir)
    try:
        async with running_app(settings) as (app, client):
            rt = app.state.runtime
            async with rt.db.sessionmaker() as s:
                await create_unit(
                    s, UnitCreate(code="yc-water", name="银川市供水公司", kind="utility", platform="yinchuan")
                )
                await s.commit()
            await add_user(app, "yc.agent", "agent", platform="yinchuan")
            await add_user(app, "szs.agent", "agent", platform="shizuishan")
            await add_user(app, "nx.sup", "supervisor", platform="ningxia")
            await add_user(app, "yc.water", "unit", platform="yinchuan", unit_code="yc-water")
            h = {u: await login(client, u) for u in ("yc.agent", "szs.agent", "nx.sup", "yc.water")}

            me = (await client.get("/api/auth/me", headers=h["nx.sup"])).json()
            assert (me["platform"], me["provincial"]) == ("ningxia", True)
            assert (await client.get("/api/auth/me", headers=h["yc.agent"])).json()["provincial"] is False

            body = {"channel": "phone", "type": "help", "summary": "路灯不亮", "citizen_phone": "09516012345"}
            r = await client.post("/api/cases", json=body, headers=h["yc.agent"])
            assert r.status_code == 201, r.text
            yc = r.json()["case"]["number"]
            assert yc.startswith("YC-") and r.json()["case"]["platform"] == "yinchuan"
            r = await client.post("/api/cases", json=body, headers=h["szs.agent"])
            assert r.json()["case"]["number"].startswith("SZS-")

            # a case the system takes without a platform (e.g. voicemail of unknown origin): the regional one
            async with rt.db.sessionmaker() as s:
                sys_case = await service.create_case(s, CaseCreate(summary="留言"), None, ctx=of_runtime(rt))
                await s.commit()
            assert (sys_case.platform, sys_case.number[:3]) == ("ningxia", "NX-")

            # scope: the regional supervisor sees every city's cases, a city's agent only its own
            seen = {
                c["number"] for c in (await client.get("/api/cases", headers=h["nx.sup"])).json()["items"]
            }
            assert yc in seen and len(seen) == 3
            assert (await client.get(f"/api/cases/{yc}", headers=h["szs.agent"])).status_code == 404

            # the workflow over the file's platforms: dispatch to a Yinchuan unit, transfer to the region
            r = await client.post(
                f"/api/cases/{yc}/transitions", json={"action": "dispatch", "unit_code": "yc-water"},
                headers=h["yc.agent"],
            )  # fmt: skip
            assert r.status_code == 200 and r.json()["status"] == "dispatched", r.text
            assert (await client.get(f"/api/cases/{yc}", headers=h["yc.water"])).json()[
                "allowed_actions"
            ] == [
                "return",
                "sign",
            ]
            r = await client.post(
                "/api/cases", json={**body, "platform": "ningxia"}, headers=h["nx.sup"]
            )  # fmt: skip
            assert r.status_code == 201 and r.json()["case"]["number"].startswith("NX-"), r.text

    finally:
        use_config(load_config())  # the next test's process-wide default: the shipped config
