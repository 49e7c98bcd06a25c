"""The case list shows every case exactly as the case's own page does (without the log), for each role —
masking, labels, traffic light, allowed actions — and in CaseOut's shape, though the list writes its
rows without validating each one again (app.cases.queries.out_fields). SQLite and PostgreSQL."""

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
