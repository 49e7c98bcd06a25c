"""The case list shows every case exactly as the case's own page does (without the log), for each role —
masking, labels, traffic light, allowed actions — and in CaseOut's shape, though the list writes its
rows without validating each one again (app.cases.views.out_fields). SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from app.cases.schemas import CaseOut
from tests.integration.test_cases_helpers import world


async def test_the_list_shows_each_case_as_its_page_does(tmp_path, db_url):
    async with world(tmp_path, db_url) as w:
        plain = (await w.create(category_code="0101"))["case"]["number"]
        secret = (await w.create(confidential=True, citizen_name="李四", citizen_phone="13800001111"))["case"]["number"]
        await w.act("km.agent", plain, "dispatch", unit_code="km-water", co_units=["km-power"], note="请核查")
        await w.act("km.agent", secret, "dispatch", unit_code="km-water", note="请核查")
        await w.act("water.h", plain, "sign")
        for who in ("km.agent", "water.h", "power.h", "prov.sup", "root"):
            r = await w.client.get("/api/cases", params={"limit": 50}, headers=w.h[who])
            assert r.status_code == 200, r.text
            listed: dict[str, Any] = {c["number"]: c for c in r.json()["items"]}
            assert r.json()["total"] == len(listed)
            assert plain in listed, who
            for number, item in listed.items():
                page = await w.get(who, number)
                page.pop("events")
                assert item == page, (who, number)
                # the shape CaseOut gives: its fields, in its order, of its types
                assert list(item) == list(CaseOut.model_fields)
                assert CaseOut.model_validate(item).model_dump(mode="json") == item
        seen = {c["number"]: c for c in (await w.client.get("/api/cases", headers=w.h["water.h"])).json()["items"]}
        assert seen[secret]["citizen_phone"] != "13800001111" and seen[secret]["citizen_name"] != "李四"
        assert seen[plain]["co_units"] == ["km-power"] and seen[plain]["category_name"] == "城乡建设/供水"
        assert seen[plain]["status_label"] and seen[plain]["light"] in ("green", "yellow", "red")
        assert seen[plain]["allowed_actions"] == ["progress", "reply", "request_extension", "return"]  # the lead unit, signed


async def test_the_list_filters_are_documented_and_refused_as_before(tmp_path, sqlite_url):
    async with world(tmp_path, sqlite_url) as w:
        op = (await w.client.get("/openapi.json")).json()["paths"]["/api/cases"]["get"]
        params = {p["name"]: p for p in op["parameters"]}
        assert list(params) == ["status", "citizen_phone", "unit", "platform", "overdue", "number", "q",
                                "created_from", "created_to", "limit", "offset"]  # fmt: skip
        assert params["limit"]["in"] == "query" and params["limit"]["schema"]["maximum"] == 500
        assert params["q"]["description"] == "words in the summary, detail or answer"
        r = await w.client.get("/api/cases", params={"limit": "0", "created_from": "昨天"}, headers=w.h["km.agent"])
        assert r.status_code == 422
        assert sorted(tuple(e["loc"]) for e in r.json()["detail"]) == [("query", "created_from"), ("query", "limit")]
        r = await w.client.get("/api/cases", params={"limit": "2", "overdue": "false"}, headers=w.h["km.agent"])
        assert r.status_code == 200 and r.json()["items"] == []
