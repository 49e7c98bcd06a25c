"""移交 inside one deployment: a prefecture hands a case to the province with a reason; the province
returns it or accepts it (number and history kept, deadlines from the acceptance) and hands it down to
another prefecture; the first prefecture follows its status through 办结 and 回访 without acting on it.
Over HTTP with real users of each side, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime

from app.cases.context import of_runtime
from tests.integration.test_cases_helpers import world


async def _handovers(w, who: str, direction: str) -> list[dict]:
    r = await w.client.get(f"/api/case-handovers?direction={direction}", headers=w.h[who])
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def test_prefecture_to_province_to_prefecture_and_back_to_visited(tmp_path, db_url):
    async with world(tmp_path, db_url) as w:
        n = (await w.create(category_code="0101"))["case"]["number"]

        r = await w.act("km.agent", n, "hand_over", target_platform="province", expect=409)
        assert "须填写原因或内容" in r["detail"]  # a hand-over needs its reason
        r = await w.act("km.agent", n, "hand_over", target_platform="dali", note="跨州市", expect=422)
        assert "经省平台" in r["detail"]  # prefecture to prefecture goes through the province
        c = await w.act(
            "km.agent", n, "hand_over", target_platform="province", note="涉及跨州市供水，请省平台协调"
        )
        assert c["status"] == "handed_over" and c["status_label"] == "移交待接收"
        assert c["platform"] == "kunming" and c["transfer_to"] == "province"
        assert c["allowed_actions"] == ["recall_handover"]  # the sender may recall, not accept
        r = await w.act("km.agent", n, "accept_handover", expect=403)
        assert "接收平台" in r["detail"]
        await w.get("dl.agent", n, expect=404)  # another prefecture sees nothing
        inc = await _handovers(w, "prov.sup", "in")
        assert [(h["number"], h["from_platform"], h["reason"]) for h in inc] == [
            (n, "kunming", "涉及跨州市供水，请省平台协调")
        ]
        assert inc[0]["allowed_actions"] == ["accept_handover", "refuse_handover"]

        # the province returns it with a reason: back at Kunming's office, re-dispatchable
        await w.act("prov.sup", n, "refuse_handover", expect=409)  # a return needs its reason
        c = await w.act("prov.sup", n, "refuse_handover", note="属昆明市属地事项，请自行派单")
        assert c["status"] == "returned" and c["platform"] == "kunming"
        c = await w.get("km.agent", n)
        assert c["platform"] == "kunming" and c["transfer_to"] is None and "dispatch" in c["allowed_actions"]
        out = await _handovers(w, "km.agent", "out")
        assert [(h["state_label"], h["decision_note"]) for h in out] == [
            ("已退回", "属昆明市属地事项，请自行派单")
        ]
        assert await _handovers(w, "prov.sup", "in") == []

        # handed over again, accepted: the province's case now, same number, whole history kept
        await w.act("km.agent", n, "hand_over", target_platform="province", note="经协调确属跨州市事项")
        c = await w.act("prov.sup", n, "accept_handover")
        assert c["number"] == n and c["platform"] == "province" and c["status"] == "intake"
        accepted_at = datetime.fromisoformat(c["events"][-1]["at"])
        due = of_runtime(w.runtime).clock().dispatch_due(accepted_at)
        assert datetime.fromisoformat(c["dispatch_due"]) == due and c["due_at"] == c["dispatch_due"]
        assert [e["action"] for e in c["events"]] == [
            "create",
            "hand_over",
            "refuse_handover",
            "hand_over",
            "accept_handover",
        ]
        assert [e["action_label"] for e in c["events"][1:]] == ["移交", "退回移交", "移交", "接收移交"]

        # Kunming still sees it, with nothing to do; an action is refused and changes nothing
        k = await w.get("km.agent", n)
        assert k["status"] == "intake" and k["platform"] == "province" and k["allowed_actions"] == []
        r = await w.act("km.agent", n, "dispatch", unit_code="km-water", expect=403)
        assert "只能查看" in r["detail"]
        assert (await w.get("km.agent", n))["events"] == k["events"]
        r = await w.client.get("/api/cases?status=intake", headers=w.h["km.agent"])
        assert n not in [x["number"] for x in r.json()["items"]]  # not in Kunming's work list any more

        # the province hands it down to Dali, which accepts, dispatches to its water company, …
        c = await w.act("prov.sup", n, "hand_over", target_platform="dali", note="请大理州办理")
        assert (await w.get("dl.agent", n))["allowed_actions"] == ["accept_handover", "refuse_handover"]
        c = await w.act("dl.agent", n, "accept_handover")
        assert c["platform"] == "dali" and c["status"] == "intake"
        statuses = []
        for who, action, kw in [
            ("dl.agent", "dispatch", {"unit_code": "dl-water"}),
            ("dlwater.h", "sign", {}),
            ("dlwater.h", "reply", {"note": "已修复管道"}),
            ("dl.agent", "feedback", {}),
            ("dl.agent", "rate", {"rating": 1}),
        ]:
            await w.act(who, n, action, **kw)
            k = await w.get("km.agent", n)  # … and Kunming sees each status
            statuses.append(k["status_label"])
            assert k["allowed_actions"] == []
        assert statuses == ["已派单", "已签收", "已办结", "已反馈", "已回访"]
        out = await _handovers(w, "km.agent", "out")
        assert [(h["state"], h["case_platform"], h["case_status_label"], h["rating"]) for h in out] == [
            ("accepted", "dali", "已回访", 1),
            ("returned", "dali", "已回访", 1),
        ]
        pout = await _handovers(w, "prov.sup", "out")
        assert [(h["to_platform"], h["state_label"]) for h in pout] == [("dali", "已接收")]
        await w.get("km.agent", "KM-00000000-9999", expect=404)


async def test_recall_and_platform_scope_of_the_lists(tmp_path, db_url):
    async with world(tmp_path, db_url) as w:
        n = (await w.create())["case"]["number"]
        await w.act("km.agent", n, "hand_over", target_platform="province", note="请省平台处理")
        r = await w.act("prov.sup", n, "recall_handover", note="x", expect=403)
        assert "工单所属平台" in r["detail"]  # only the sender recalls
        c = await w.act("km.agent", n, "recall_handover", note="误操作，撤回")
        assert c["status"] == "returned" and c["platform"] == "kunming" and c["transfer_to"] is None
        assert (await _handovers(w, "km.agent", "out"))[0]["state_label"] == "已撤回"
        r = await w.client.get("/api/case-handovers?platform=kunming", headers=w.h["dl.agent"])
        assert r.status_code == 403  # Dali cannot read Kunming's hand-overs
        r = await w.client.get("/api/case-handovers", headers=w.h["water.h"])
        assert r.status_code == 403  # units have no hand-over lists
        r = await w.client.get("/api/case-handovers?direction=out&platform=kunming", headers=w.h["prov.sup"])
        assert r.status_code == 200 and len(r.json()["items"]) == 1
