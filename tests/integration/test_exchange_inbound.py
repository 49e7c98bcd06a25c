"""POST /exchange/v1/messages against a real app on SQLite and PostgreSQL: a signed 移交 from a
prefecture's deployment is applied once; key rotation (old and new key accepted); and every forged
request — tampered signature, unknown key id, replayed nonce, expired timestamp, malformed body,
oversized body — refused with a clear error and an audit line, nothing changed."""

from __future__ import annotations

import logging
import time

from sqlalchemy import func, select

from app.cases.models import Case, CaseEvent
from app.exchange.models import ExchangeInbox, ExchangeRefusal
from tests.conftest import login, make_settings, running_app
from tests.exchange_helpers import dumps, key, message, signed
from tests.integration.test_cases_helpers import seed, write_rules

NUMBER = "KM-20261202-0007"


async def _counts(app) -> tuple[int, int, int, int]:
    async with app.state.runtime.db.sessionmaker() as s:
        return (
            await s.scalar(select(func.count()).select_from(Case)),
            await s.scalar(select(func.count()).select_from(CaseEvent)),
            await s.scalar(select(func.count()).select_from(ExchangeInbox)),
            await s.scalar(select(func.count()).select_from(ExchangeRefusal)),
        )


async def test_signed_handover_applied_once_and_forgeries_refused(tmp_path, db_url, caplog):
    settings = make_settings(
        tmp_path, db_url, exchange_node="province-node", exchange_max_body_bytes=16384,
        exchange_peers=[{"name": "km-node", "url": "http://127.0.0.1:9", "platforms": ["kunming"],
                         "keys": [key("km-2026"), key("km-2025")]}],
    )  # fmt: skip
    write_rules(settings.var_dir)
    caplog.set_level(logging.WARNING, logger="app.exchange.audit")
    async with running_app(settings) as (app, client):
        h = await seed(app, client)
        body = dumps(message("km-node", "province-node", NUMBER, 1))
        first = signed(body, "km-2026")
        r = await client.post("/exchange/v1/messages", content=body, headers=first)
        assert r.status_code == 200 and r.json()["status"] == "applied", r.text
        c = (await client.get(f"/api/cases/{NUMBER}", headers=h["prov.sup"])).json()
        assert c["status"] == "handed_over" and c["platform"] == "kunming" and c["transfer_to"] == "province"
        assert c["allowed_actions"] == ["accept_handover", "refuse_handover"]  # the province decides
        assert [e["action"] for e in c["events"]] == ["create", "hand_over"]
        assert c["events"][1]["actor_name"] == "km.agent（km-node）"
        await login(client, "km.agent")

        # the same message again (a retry with a fresh nonce; even signed with the old key): once only
        r = await client.post("/exchange/v1/messages", content=body, headers=signed(body, "km-2025"))
        assert r.status_code == 200 and r.json()["status"] == "duplicate"
        before = await _counts(app)

        forged = [
            ("tampered signature", body.replace("跨州市".encode(), "本州市".encode()), first | {"X-Exchange-Nonce": "n-tamper-1"}, 401, "bad_signature"),
            ("unknown key id", body, signed(body, "dl-2026"), 401, "unknown_key"),
            ("replayed nonce", body, first, 409, "replayed_nonce"),
            ("expired timestamp", body, signed(body, "km-2026", ts=int(time.time()) - 3600), 401, "expired_timestamp"),
            ("malformed body", b'{"protocol": "x"', signed(b'{"protocol": "x"', "km-2026"), 422, "malformed_body"),
            ("not a message", dumps({"protocol": "hotline-exchange/1"}), signed(dumps({"protocol": "hotline-exchange/1"}), "km-2026"), 422, "malformed_body"),
            ("oversized body", b"x" * 20000, signed(b"x" * 20000, "km-2026"), 413, "too_large"),
            ("unsigned", body, {"Content-Type": "application/json"}, 401, "unsigned"),
        ]  # fmt: skip
        for i, (what, b, headers, status, code) in enumerate(forged, start=1):
            r = await client.post("/exchange/v1/messages", content=b, headers=headers)
            assert r.status_code == status, (what, r.text)
            assert r.json()["error"] == code and r.json()["detail"], what
            cases, events, inbox, refusals = await _counts(app)
            assert (cases, events, inbox) == before[:3], f"{what} changed something"
            assert refusals == before[3] + i, what
            assert f"exchange refused: {code}" in caplog.text, what

        r = await client.get("/api/exchange/refusals", headers=h["root"])
        assert [x["code"] for x in r.json()][:3] == ["unsigned", "too_large", "malformed_body"]
        assert r.json()[-1]["code"] == "bad_signature" and r.json()[-1]["peer"] == "km-node"
        assert (await client.get("/api/exchange/refusals", headers=h["prov.sup"])).status_code == 403
        peers = (await client.get("/api/exchange/peers", headers=h["root"])).json()
        assert peers["peers"][0]["key_ids"] == ["km-2026", "km-2025"] and "secret" not in str(peers)


async def test_peer_pulls_daily_statistics_signed(tmp_path, db_url):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from app.exchange import protocol as p

    settings = make_settings(
        tmp_path, db_url, exchange_node="km-node", exchange_platforms=["kunming"],
        exchange_peers=[{"name": "prov-node", "url": "http://127.0.0.1:9", "platforms": ["province"],
                         "keys": [key("km-prov-1")]}],
    )  # fmt: skip
    write_rules(settings.var_dir)
    async with running_app(settings) as (app, client):
        h = await seed(app, client)
        for _ in range(2):
            r = await client.post("/api/cases", json={"summary": "路灯不亮"}, headers=h["km.agent"])
            assert r.status_code == 201
        today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
        path = f"{p.STATS_PATH}?date={today}"
        r = await client.get(path, headers=signed(b"", "km-prov-1", path=path, method="GET"))
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["node"] == "km-node" and body["date"] == today
        assert list(body["platforms"]) == ["kunming"]  # only what this deployment serves
        assert body["platforms"]["kunming"]["cases_created"] == 2
        # the query is signed too: the same headers for another day are refused
        other = f"{p.STATS_PATH}?date=2026-01-01"
        r = await client.get(other, headers=signed(b"", "km-prov-1", path=path, method="GET"))
        assert r.status_code == 401 and r.json()["error"] == "bad_signature"
        r = await client.get(path)
        assert r.status_code == 401 and r.json()["error"] == "unsigned"
