"""The whole 12345 case flow over HTTP, with real users of each role, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select

from tests.integration.test_cases_helpers import world


async def test_full_flow_dispatch_sign_extend_reply_feedback_rating(tmp_path, db_url):
    async with world(tmp_path, db_url) as w:
        created = await w.create(category_code="0101")
        case = created["case"]
        n = case["number"]
        assert re.fullmatch(r"KM-\d{8}-0001", n)
        assert case["status"] == "intake" and case["platform"] == "kunming"
        assert case["citizen_phone"] == "13912342345"  # the agent sees it in full
        assert case["category_name"] == "城乡建设/供水"
        assert case["dispatch_due"] is not None and created["possible_duplicates"] == []
        assert "dispatch" in case["allowed_actions"] and "answer" in case["allowed_actions"]

        c = await w.act("km.agent", n, "dispatch", unit_code="km-water", co_units=["km-power"], note="请核查")
        assert c["status"] == "dispatched" and c["lead_unit"] == "km-water" and c["co_units"] == ["km-power"]
        assert c["sign_due"] and c["handle_due"] and c["due_at"] == c["sign_due"]

        # the co-handling unit sees it but may not sign; another prefecture's unit does not see it
        assert (await w.get("power.h", n))["status"] == "dispatched"
        assert (await w.get("power.h", n))["allowed_actions"] == []  # the page offers it nothing to do yet
        assert (await w.get("water.h", n))["allowed_actions"] == ["return", "sign"]
        r = await w.act("power.h", n, "sign", expect=403)
        assert "只有主办单位（km-water）" in r["detail"]
        await w.get("dlwater.h", n, expect=404)

        c = await w.act("water.h", n, "sign")
        assert c["status"] == "signed" and c["return_due"] and c["due_at"] == c["handle_due"]
        assert c["citizen_phone"] == "13912342345"  # not confidential: the unit may call the citizen back
        c = await w.act("water.h", n, "progress", note="已安排抢修")
        assert c["status"] == "in_progress"
        assert (await w.get("power.h", n))["allowed_actions"] == ["progress"]
        c = await w.act("power.h", n, "progress", note="协办：已排查线路")
        old_due = datetime.fromisoformat(c["handle_due"])

        c = await w.act("water.h", n, "request_extension", note="需更换主管道")
        assert c["status"] == "extension_requested"
        r = await w.act("water.h", n, "approve_extension", expect=403)  # units cannot approve their own
        c = await w.act("km.sup", n, "approve_extension")
        assert c["status"] == "in_progress" and c["extension_count"] == 1
        assert (datetime.fromisoformat(c["handle_due"]) - old_due).days >= 15  # 15 working days ≥ 3 weeks

        before = await w.get("water.h", n)
        r = await w.act("water.h", n, "request_extension", note="再延一次", expect=409)
        assert "延期只能申请1次" in r["detail"]
        after = await w.get("water.h", n)
        assert after["status"] == "in_progress" and after["events"] == before["events"]  # nothing changed

        c = await w.act("water.h", n, "reply", note="主管道已更换，恢复供水。联系人电话 13800138000")
        assert c["status"] == "replied" and c["answer"].startswith("主管道已更换")
        await w.act("water.h", n, "feedback", expect=403)
        c = await w.act("km.agent", n, "feedback")
        assert c["status"] == "fed_back"
        r = await w.client.post(f"/api/cases/{n}/rating", json={"rating": 1}, headers=w.h["km.agent"])
        assert r.status_code == 200 and r.json()["status"] == "visited" and r.json()["rating"] == 1
        c = await w.act("km.sup", n, "close")
        await w.act("km.agent", n, "publish", expect=403)
        c = await w.act("km.sup", n, "publish")
        assert c["status"] == "closed" and c["published"] is True

        assert [e["action"] for e in c["events"]] == [
            "create",
            "dispatch",
            "sign",
            "progress",
            "progress",
            "request_extension",
            "approve_extension",
            "reply",
            "feedback",
            "rate",
            "close",
            "publish",
        ]
        assert {e["actor_role"] for e in c["events"]} == {"agent", "unit", "supervisor"}

        # notifications went through the outbox: receipt + feedback SMS to the citizen, notice to the unit
        from app.outbox.models import OutboxMessage

        async with w.session() as s:
            msgs = list(await s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
        assert [(m.channel, m.kind) for m in msgs] == [
            ("sms", "receipt"),
            ("unit", "dispatch"),
            ("sms", "feedback"),
        ]
        assert msgs[2].recipient == "13912342345" and n in msgs[2].body

        # the public sees it published and masked
        pub = (await w.client.get(f"/public/cases/{n}")).json()
        assert (
            pub["status_label"] == "已结案"
            and "13800138000" not in str(pub)
            and "138****8000" in pub["answer"]
        )
        assert "张三" not in str(pub) and "13912342345" not in str(pub)


async def test_return_with_reason_and_redispatch(tmp_path, db_url):
    async with world(tmp_path, db_url) as w:
        n = (await w.create(type="consultation"))["case"]["number"]
        await w.act("km.agent", n, "dispatch", unit_code="km-water")
        r = await w.act("water.h", n, "return", expect=409)  # a return needs a reason
        assert "须填写原因或内容" in r["detail"]
        c = await w.act("water.h", n, "return", note="不属于本单位职责，应由住建局办理")
        assert c["status"] == "returned" and c["events"][-1]["note"].startswith("不属于本单位")
        assert c["due_at"] == c["dispatch_due"]
        c = await w.act("km.agent", n, "dispatch", unit_code="km-housing")
        assert c["status"] == "dispatched" and c["lead_unit"] == "km-housing"
        await w.get("water.h", n, expect=404)  # no longer the water company's case
        c = await w.act("housing.h", n, "sign")
        assert c["status"] == "signed"
        r = await w.act("km.agent", n, "dispatch", unit_code="km-water", expect=409)
        assert "不能派单（dispatch）" in r["detail"]


async def test_answer_directly_and_unknown_unit(tmp_path, db_url):
    async with world(tmp_path, db_url) as w:
        n = (await w.create(type="consultation", summary="社保卡补办地点"))["case"]["number"]
        r = await w.act("km.agent", n, "dispatch", unit_code="no-such-unit", expect=422)
        assert "未知单位 'no-such-unit'" in r["detail"]
        r = await w.act(
            "km.agent", n, "dispatch", unit_code="dl-water", expect=422
        )  # another prefecture's unit
        assert "请先转办" in r["detail"]
        c = await w.act("km.agent", n, "answer", note="可到各区政务服务中心社保窗口办理")
        assert c["status"] == "answered_directly" and c["due_at"] is None
        r = await w.act("km.agent", n, "dispatch", unit_code="km-water", expect=409)
        assert "answered_directly" in r["detail"]


async def test_transfer_out_leaves_the_queue(tmp_path, db_url):
    async with world(tmp_path, db_url) as w:
        n = (await w.create(summary="大理古城商户投诉"))["case"]["number"]
        r = await w.act("km.agent", n, "transfer", target_platform="dali", expect=409)
        assert "须填写原因或内容" in r["detail"]
        c = await w.act("km.agent", n, "transfer", target_platform="dali", note="属大理州事项")
        assert c["status"] == "transfer_out" and c["transfer_to"] == "dali"
        open_list = await w.client.get("/api/cases?status=intake,returned,reopened", headers=w.h["km.agent"])
        assert n not in [x["number"] for x in open_list.json()["items"]]


async def test_unsatisfied_rating_reopens_for_review(tmp_path, db_url):
    async with world(tmp_path, db_url) as w:
        n = (await w.create())["case"]["number"]
        await w.act("km.agent", n, "dispatch", unit_code="km-water")
        await w.act("water.h", n, "sign")
        await w.act("water.h", n, "reply", note="已处理")
        await w.act("km.agent", n, "feedback")
        r = await w.client.post(
            f"/api/cases/{n}/rating", json={"rating": 3, "note": "仍然停水"}, headers=w.h["km.agent"]
        )
        c = r.json()
        assert c["status"] == "reopened" and c["rating"] == 3
        last = c["events"][-1]
        assert last["action"] == "reopen" and last["actor_role"] == "system" and "仍然停水" in last["note"]
        c = await w.act("km.agent", n, "dispatch", unit_code="km-water")
        assert c["status"] == "dispatched"


async def test_duplicate_offered_and_merged(tmp_path, db_url):
    async with world(tmp_path, db_url) as w:
        first = (await w.create())["case"]["number"]
        second = await w.create(summary="又停水了")
        assert [d["number"] for d in second["possible_duplicates"]] == [first]
        n2 = second["case"]["number"]
        r = await w.client.post(f"/api/cases/{n2}/merge", json={"into": first}, headers=w.h["km.agent"])
        assert r.status_code == 200 and r.json()["status"] == "merged" and r.json()["merged_into"] == first
        r = await w.client.post(f"/api/cases/{n2}/merge", json={"into": first}, headers=w.h["km.agent"])
        assert r.status_code == 409
        third = await w.create(summary="第三次来电")
        assert [d["number"] for d in third["possible_duplicates"]] == [first]  # merged ones are not offered
        # the screen-pop: earlier cases of this caller
        r = await w.client.get(
            "/api/cases", params={"citizen_phone": "+86 139 1234 2345"}, headers=w.h["km.agent"]
        )
        assert r.json()["total"] == 3
        fourth = await w.create(summary="第四次", citizen_phone="+86-139-1234-2345")  # however it is written
        assert fourth["case"]["citizen_phone"] == "13912342345" and fourth["possible_duplicates"]
