"""The exchange outbox on SQLite and PostgreSQL: a 移交 to a peer that is down waits with its error; the
administrator sees it, cancels it, sends it again; several workers claim disjoint rows (SKIP LOCKED on
PostgreSQL)."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from app.db import utcnow
from app.exchange.models import ExchangeOutbox
from app.exchange.worker import claim
from tests.conftest import make_settings, running_app
from tests.exchange_helpers import key
from tests.integration.test_cases_helpers import seed, write_rules
from tests.waiting import wait_until


async def test_undelivered_message_retry_cancel_and_disjoint_claims(tmp_path, db_url):
    settings = make_settings(
        tmp_path, db_url, exchange_node="km-node", exchange_platforms=["kunming"],
        exchange_retry_base_s=0.2, exchange_retry_max_s=0.5, exchange_poll_s=0.1,
        exchange_peers=[{"name": "prov-node", "url": "http://127.0.0.1:9", "platforms": ["province"],
                         "keys": [key("km-prov-1")]}],
    )  # fmt: skip
    write_rules(settings.var_dir)
    async with running_app(settings) as (app, client):
        h = await seed(app, client)
        numbers = []
        for _ in range(3):
            r = await client.post("/api/cases", json={"summary": "跨州市事项"}, headers=h["km.agent"])
            numbers.append(r.json()["case"]["number"])
            r = await client.post(
                f"/api/cases/{numbers[-1]}/transitions",
                json={"action": "hand_over", "target_platform": "province", "note": "请省平台协调"},
                headers=h["km.agent"],
            )
            assert r.status_code == 200 and r.json()["status"] == "handed_over", r.text
        # a 移交 to another deployment cannot be recalled; Kunming's staff see that it waits there
        r = await client.post(
            f"/api/cases/{numbers[0]}/transitions", json={"action": "recall_handover", "note": "撤回"},
            headers=h["km.agent"],
        )  # fmt: skip
        assert r.status_code == 403 and "只同步其状态" in r.json()["detail"]

        async def failing() -> list | None:
            rows = (await client.get("/api/exchange/messages?status=pending", headers=h["root"])).json()
            return rows if len(rows) == 3 and all(m["last_error"] for m in rows) else None

        rows = await wait_until(failing, 60, "three undelivered messages with their errors")
        assert {m["case_number"] for m in rows} == set(numbers) and all(m["seq"] == 1 for m in rows)
        assert any("ConnectError" in m["last_error"] for m in rows)
        peer = (await client.get("/api/exchange/peers", headers=h["root"])).json()["peers"][0]
        assert peer["health"] == "down" and peer["pending"] == 3
        assert (await client.get("/api/exchange/messages", headers=h["km.sup"])).status_code == 403

        mid = rows[0]["id"]
        r = await client.post(f"/api/exchange/messages/{mid}/cancel", headers=h["root"])
        assert r.status_code == 200 and r.json()["status"] == "cancelled"
        cancelled = (await client.get("/api/exchange/messages?status=cancelled", headers=h["root"])).json()
        assert [m["id"] for m in cancelled] == [mid]
        r = await client.post(f"/api/exchange/messages/{mid}/retry", headers=h["root"])
        assert r.status_code == 200 and r.json()["status"] == "pending"
        assert (await client.post("/api/exchange/messages/999999/retry", headers=h["root"])).status_code == 404

    # several workers (processes) claiming at once never get the same row: PostgreSQL's SKIP LOCKED
    # (SQLite deployments are one process with one worker). The app's own worker stopped with it.
    if not db_url.startswith("postgresql"):
        return
    from app.db import Database

    db = Database(db_url)
    try:
        async with db.sessionmaker() as s:
            for m in await s.scalars(select(ExchangeOutbox)):
                m.claimed_until, m.next_attempt_at = None, utcnow()
            await s.commit()

        async def one() -> list[int]:
            async with db.sessionmaker() as s:
                got = [r.id for r in await claim(s, utcnow(), limit=2)]
                await asyncio.sleep(0.2)  # hold the rows while the other claims
                await s.commit()
                return got

        a, b = await asyncio.gather(one(), one())
        assert not set(a) & set(b) and len(a) + len(b) == 3
        async with db.sessionmaker() as s:
            assert await s.scalar(select(func.count()).select_from(ExchangeOutbox)) == 3
    finally:
        await db.dispose()
