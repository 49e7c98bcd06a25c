"""Flood limits hold across the service's processes on PostgreSQL: two app instances (two runtimes,
as two workers of `hotline run --workers 2` are) on one database share the citizens' limit per
address and the webhooks' limit per citizen; the counting itself is exact under concurrent hits from
two engines; a refused hit is not counted. SQLite (one process) keeps them in memory."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

import pytest

from app.db import Database
from app.flood import LocalWindows, SharedWindows
from tests.conftest import make_settings, running_app
from tests.integration.test_cases_helpers import write_rules

SECRET = "weibo-secret-0123456789abcdef"
FORM = {"type": "complaint", "phone": "139 8711 2345", "place": "昆明市五华区翠湖南路"}


def _settings(tmp_path: Path, url: str, name: str) -> Any:
    settings = make_settings(
        tmp_path / name, url, citizen_submit_limit=3, webhook_sender_limit=2,
        intake_apps=[{"id": "weibo", "secret": SECRET, "channel": "weibo"}],
    )  # fmt: skip
    write_rules(settings.var_dir)
    return settings


def _signed(msg: dict[str, Any]) -> dict[str, Any]:
    body = json.dumps(msg, ensure_ascii=False).encode()
    t = str(int(time.time()))
    sig = hmac.new(SECRET.encode(), t.encode() + b"." + body, hashlib.sha256).hexdigest()
    headers = {"X-Hotline-Timestamp": t, "X-Hotline-Signature": sig, "Content-Type": "application/json"}
    return {"content": body, "headers": headers}


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_two_instances_share_the_citizen_and_webhook_limits(tmp_path: Path, db_url: str) -> None:
    async with (
        running_app(_settings(tmp_path, db_url, "a")) as (app_a, a),
        running_app(_settings(tmp_path, db_url, "b")) as (app_b, b),
    ):
        assert app_a.state.runtime is not app_b.state.runtime
        assert isinstance(app_a.state.runtime.flood, SharedWindows)
        codes = []
        for i, client in enumerate([a, b, a, b, a, b]):  # one address, alternating between the processes
            r = await client.post(
                "/api/citizen/requests",
                data={**FORM, "submission_id": f"f{i}", "text": f"第{i}件事：{'噪音' * (i + 3)}扰民"},
            )
            codes.append(r.status_code)
        # per process each would have allowed 3 (6 in all): shared, the address gets 3
        assert codes == [201, 201, 201, 429, 429, 429], codes
        assert "操作过于频繁" in r.json()["detail"] and int(r.headers["Retry-After"]) > 0

        got = []
        for i, client in enumerate([b, a, b]):
            msg = {"id": f"wb-{i}", "user": "u778", "text": f"曲靖市麒麟区第{i}处路段积水严重", "type": "complaint"}
            got.append((await client.post("/api/intake/apps/weibo/requests", **_signed(msg))).status_code)
        assert got == [201, 201, 429], got
        other = {"id": "wb-x", "user": "u999", "text": "另一位市民：路灯不亮", "type": "complaint"}
        assert (await a.post("/api/intake/apps/weibo/requests", **_signed(other))).status_code == 201


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_concurrent_hits_from_two_engines_are_counted_exactly(db_url: str, tmp_path: Path) -> None:
    async with running_app(make_settings(tmp_path, db_url)):  # migrated schema
        pass
    one, two = Database(db_url), Database(db_url)
    try:
        w1, w2 = SharedWindows(one.sessionmaker), SharedWindows(two.sessionmaker)
        results = await asyncio.gather(*[(w1 if i % 2 else w2).hit("k:race", 5, 60) for i in range(24)])
        assert sum(r is None for r in results) == 5  # exactly the limit, whichever process asked
        assert all(0 < r <= 60 for r in results if r is not None)
        assert await w1.hit("k:other", 5, 60) is None  # another key is not affected
        # refused hits were not counted: the window frees when the allowed ones age out
        assert await w2.hit("k:race", 5, 60, now=time.time() + 61) is None
    finally:
        await one.dispose()
        await two.dispose()


def test_local_windows_one_process() -> None:
    w = LocalWindows()
    assert [w.hit_now("a", 2, 10, now=t) for t in (0, 1, 2)][:2] == [None, None]
    assert w.hit_now("a", 2, 10, now=2) == pytest.approx(8)
    assert w.hit_now("a", 2, 10, now=10.5) is None  # the first aged out
