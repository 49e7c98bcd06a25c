"""Public case lookup, published list and Open311 GeoReport v2: masked, published cases only."""

from __future__ import annotations

import re

from tests.integration.test_cases_helpers import world

PHONE = "13912342345"
ID = "53010219900101123X"


async def _published(w, **kw):
    n = (
        await w.create(
            summary=f"张三反映停水，电话{PHONE}",
            detail=f"身份证{ID}，邮箱 zs@example.com，座机0871-65551234",
            category_code="0101",
            **kw,
        )
    )["case"]["number"]
    await w.act("km.agent", n, "dispatch", unit_code="km-water")
    await w.act("water.h", n, "sign")
    await w.act("water.h", n, "reply", note=f"已联系张三（{PHONE}）恢复供水")
    await w.act("km.agent", n, "feedback")
    await w.client.post(f"/api/cases/{n}/rating", json={"rating": 2}, headers=w.h["km.agent"])
    await w.act("km.sup", n, "close")
    await w.act("km.sup", n, "publish")
    return n


def assert_clean(text: str) -> None:
    assert PHONE not in text and "13912342345" not in text and ID[:17] not in text and "65551234" not in text
    assert "张三" not in text and "zs@example.com" not in text
    assert not re.search(r"\d{7,}", re.sub(r"[A-Z]{2}-\d{8}-\d{4}", "", text))


async def test_public_views_and_open311_are_masked(tmp_path, db_url):
    async with world(tmp_path, db_url) as w:
        n = await _published(w)
        hidden = (await w.create(summary=f"未公开 {PHONE}"))["case"]["number"]

        r = await w.client.get(f"/public/cases/{n}")
        body = r.json()
        assert r.status_code == 200 and body["published"] and body["unit"] == "昆明市供水公司"
        assert "139****2345" in body["summary"] and body["summary"].startswith("张*反映停水")
        assert_clean(r.text)
        r = await w.client.get(f"/public/cases/{hidden}")  # citizens can follow an unpublished case by number
        assert r.status_code == 200 and r.json()["status_label"] == "已受理" and "summary" not in r.json()
        assert (await w.client.get("/public/cases/KM-20000101-9999")).status_code == 404
        r = await w.client.get("/public/cases")
        assert [c["number"] for c in r.json()["items"]] == [n]
        assert_clean(r.text)

        r = await w.client.get("/open311/v2/services.json")
        assert {"service_code": "0101", "service_name": "供水"}.items() <= r.json()[0].items()
        r = await w.client.get("/open311/v2/requests.json")
        reqs = r.json()
        assert [x["service_request_id"] for x in reqs] == [n]
        assert reqs[0]["status"] == "closed" and reqs[0]["service_code"] == "0101"
        assert reqs[0]["agency_responsible"] == "昆明市供水公司" and reqs[0]["requested_datetime"].endswith(
            "Z"
        )
        assert_clean(r.text)
        r = await w.client.get(f"/open311/v2/requests/{n}.json")
        assert r.status_code == 200 and r.json()[0]["service_request_id"] == n
        assert_clean(r.text)
        r = await w.client.get(f"/open311/v2/requests/{hidden}.json")
        assert r.status_code == 404 and r.json()[0]["code"] == 404
        r = await w.client.get("/open311/v2/requests.json", params={"status": "open"})
        assert r.json() == []
        r = await w.client.get("/open311/v2/requests.json", params={"service_code": "0101,0102"})
        assert len(r.json()) == 1
        r = await w.client.get("/open311/v2/requests.json", params={"start_date": "yesterday"})
        assert r.status_code == 400
