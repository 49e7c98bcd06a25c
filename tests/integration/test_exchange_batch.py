"""POST /exchange/v1/batch against a real app on SQLite and PostgreSQL: several signed messages in one
request, each answered and applied exactly as if it had come alone — applied, a duplicate, parked and
then applied when its predecessor comes later in the same batch, a misfit rejected (and audited) —
and a batch refused whole (tampered, a message from another sender, malformed) changes nothing."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from app.cases.models import Case, CaseEvent
from app.exchange import protocol as p
from app.exchange.models import ExchangeInbox, ExchangeRefusal
from tests.conftest import make_settings, running_app
from tests.exchange_helpers import dumps, key, message, signed
from tests.integration.test_cases_helpers import seed, write_rules


async def _counts(app) -> tuple[int, int, int, int]:
    async with app.state.runtime.db.sessionmaker() as s:
        return (
            await s.scalar(select(func.count()).select_from(Case)),
            await s.scalar(select(func.count()).select_from(CaseEvent)),
            await s.scalar(select(func.count()).select_from(ExchangeInbox)),
            await s.scalar(select(func.count()).select_from(ExchangeRefusal)),
        )


def batch(*msgs: dict) -> bytes:
    return dumps({"protocol": p.VERSION, "messages": list(msgs)})


async def test_a_batch_is_applied_message_by_message_and_refused_whole(tmp_path, db_url):
    settings = make_settings(
        tmp_path, db_url, exchange_node="province-node",
        exchange_peers=[{"name": "km-node", "url": "http://127.0.0.1:9", "platforms": ["kunming"],
                         "keys": [key("km-2026")]},
                        {"name": "dl-node", "url": "http://127.0.0.1:9", "platforms": ["dali"],
                         "keys": [key("dl-2026")]}],
    )  # fmt: skip
    write_rules(settings.var_dir)
    async with running_app(settings) as (app, client):
        h = await seed(app, client)
        a1 = message("km-node", "province-node", "KM-20261202-0101", 1)
        b1 = message("km-node", "province-node", "KM-20261202-0102", 1)
        b2 = message("km-node", "province-node", "KM-20261202-0102", 2, action="follow_up",
                     note="市民补充：已停运三天", **{"from": "handed_over", "to": "handed_over"})  # fmt: skip
        c1 = message("km-node", "province-node", "KM-20261202-0103", 1, action="dispatch",
                     **{"from": "intake", "to": "dispatched"})  # fmt: skip
        body = batch(a1, a1, b2, b1, c1)
        r = await client.post(p.BATCH_PATH, content=body, headers=signed(body, "km-2026", path=p.BATCH_PATH))
        assert r.status_code == 200, r.text
        got = [(x["message_id"], x["status"]) for x in r.json()["results"]]
        assert got == [
            (a1["message_id"], "applied"), (a1["message_id"], "duplicate"), (b2["message_id"], "parked"),
            (b1["message_id"], "applied"), (c1["message_id"], "rejected"),
        ]  # fmt: skip
        assert "移交" in r.json()["results"][4]["error"]
        b = (await client.get("/api/cases/KM-20261202-0102", headers=h["prov.sup"])).json()
        assert [e["action"] for e in b["events"]] == ["create", "hand_over", "follow_up"]  # b2 after b1
        assert (await client.get("/api/cases/KM-20261202-0103", headers=h["prov.sup"])).status_code == 404
        r = await client.get("/api/exchange/refusals", headers=h["root"])
        assert r.json()[0]["code"] == "conflict" and r.json()[0]["peer"] == "km-node"

        # the same batch again (a retry with a fresh nonce): every message a duplicate, nothing changes
        before = await _counts(app)
        r = await client.post(p.BATCH_PATH, content=body, headers=signed(body, "km-2026", path=p.BATCH_PATH))
        assert [x["status"] for x in r.json()["results"]] == ["duplicate"] * 5
        assert (await _counts(app))[:3] == before[:3]

        # refused whole: nothing of it applied, one audit line each
        d1 = message("km-node", "province-node", "KM-20261202-0104", 1)
        good = batch(d1)
        tampered = good.replace("跨州市".encode(), "本州市".encode())
        other = batch(d1, message("dl-node", "province-node", "DL-20261202-0001", 1))
        malformed = dumps({"protocol": p.VERSION, "messages": [{**d1, "seq": 0}]})
        too_many = batch(
            *[message("km-node", "province-node", f"KM-20261202-{i:04d}", 1) for i in range(101)]
        )
        refused = [
            ("tampered", tampered, signed(good, "km-2026", path=p.BATCH_PATH), 401, "bad_signature"),
            ("signed for the single path", good, signed(good, "km-2026"), 401, "bad_signature"),
            ("another sender inside", other, signed(other, "km-2026", path=p.BATCH_PATH), 403, "wrong_sender"),
            ("malformed message", malformed, signed(malformed, "km-2026", path=p.BATCH_PATH), 422, "malformed_body"),
            ("over 100 messages", too_many, signed(too_many, "km-2026", path=p.BATCH_PATH), 422, "malformed_body"),
        ]  # fmt: skip
        before = await _counts(app)
        for i, (what, b, headers, status, code) in enumerate(refused, start=1):
            r = await client.post(p.BATCH_PATH, content=b, headers=headers)
            assert r.status_code == status and r.json()["error"] == code, (what, r.text)
            now = await _counts(app)
            assert now[:3] == before[:3] and now[3] == before[3] + i, what
        assert json.loads(good)["messages"][0]["case_number"] == "KM-20261202-0104"
        assert (await client.get("/api/cases/KM-20261202-0104", headers=h["prov.sup"])).status_code == 404
