"""Shared setup for the case-workflow tests (no tests here): a running app with the scheduler off,
units of two prefectures and one real user per role."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from tests.conftest import login, make_settings, running_app

ZONE = ZoneInfo("Asia/Shanghai")

UNITS = [
    ("km-water", "昆明市供水公司", "utility", "kunming"),
    ("km-power", "昆明供电局", "utility", "kunming"),
    ("km-housing", "昆明市住房和城乡建设局", "department", "kunming"),
    ("dl-water", "大理市供水公司", "utility", "dali"),
]
USERS = [
    ("km.agent", "agent", {"platform": "kunming"}),
    ("dl.agent", "agent", {"platform": "dali"}),
    ("km.sup", "supervisor", {"platform": "kunming"}),
    ("prov.sup", "supervisor", {"platform": "province"}),
    ("root", "admin", {"platform": "province"}),
    ("water.h", "unit", {"platform": "kunming", "unit_code": "km-water"}),
    ("power.h", "unit", {"platform": "kunming", "unit_code": "km-power"}),
    ("housing.h", "unit", {"platform": "kunming", "unit_code": "km-housing"}),
    ("dlwater.h", "unit", {"platform": "dali", "unit_code": "dl-water"}),
]


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=ZONE)  # type: ignore[misc]


@dataclass
class World:
    app: Any
    client: httpx.AsyncClient
    h: dict[str, dict[str, str]]

    @property
    def runtime(self) -> Any:
        return self.app.state.runtime

    def session(self) -> Any:
        return self.runtime.db.sessionmaker()

    async def create(self, who: str = "km.agent", **kw: Any) -> dict[str, Any]:
        body = {
            "channel": "phone",
            "type": "complaint",
            "summary": "小区停水三天",
            "detail": "五华区某小区停水",
            "citizen_name": "张三",
            "citizen_phone": "13912342345",
            **kw,
        }
        r = await self.client.post("/api/cases", json=body, headers=self.h[who])
        assert r.status_code == 201, r.text
        return r.json()  # type: ignore[no-any-return]

    async def act(self, who: str, number: str, action: str, expect: int = 200, **kw: Any) -> dict[str, Any]:
        r = await self.client.post(
            f"/api/cases/{number}/transitions", json={"action": action, **kw}, headers=self.h[who]
        )
        assert r.status_code == expect, r.text
        return r.json()  # type: ignore[no-any-return]

    async def get(self, who: str, number: str, expect: int = 200) -> dict[str, Any]:
        r = await self.client.get(f"/api/cases/{number}", headers=self.h[who])
        assert r.status_code == expect, r.text
        return r.json()  # type: ignore[no-any-return]


async def seed(app: Any, client: httpx.AsyncClient) -> dict[str, dict[str, str]]:
    from app.units.schemas import UnitCreate
    from app.units.service import create_unit

    async with app.state.runtime.db.sessionmaker() as s:
        for code, name, kind, platform in UNITS:
            await create_unit(s, UnitCreate(code=code, name=name, kind=kind, platform=platform))  # type: ignore[arg-type]
        await s.commit()
    # one user logs in through the real login form API; the rest get their session token from the same
    # signer directly (argon2 costs ~0.1 s per hash, and each test builds a fresh world)
    from app.auth.models import Role, User

    headers = {}
    async with app.state.runtime.db.sessionmaker() as s:
        users = [
            User(username=u, display_name=u, password_hash=_hash(), role=Role(r), **kw) for u, r, kw in USERS
        ]
        s.add_all(users)
        await s.commit()
    for u in users:
        headers[u.username] = {"Authorization": f"Bearer {app.state.runtime.signer.issue(u)}"}
    headers["km.agent"] = await login(client, "km.agent")
    return headers


_HASH: list[str] = []


def _hash() -> str:
    from app.auth.service import hash_password

    if not _HASH:
        _HASH.append(hash_password("correct-horse-42"))
    return _HASH[0]


def write_rules(var_dir: Path, text: str = "sweep_interval_s: 0\n") -> None:
    var_dir.mkdir(parents=True, exist_ok=True)
    (var_dir / "case_rules.yaml").write_text(text, encoding="utf-8")


@asynccontextmanager
async def world(tmp_path: Path, db_url: str, **overrides: Any) -> AsyncIterator[World]:
    settings = make_settings(tmp_path, db_url, **overrides)
    write_rules(settings.var_dir)
    async with running_app(settings) as (app, client):
        yield World(app, client, await seed(app, client))
