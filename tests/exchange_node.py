"""One deployment for the exchange tests and benchmark, in its own process (a real uvicorn server on
127.0.0.1 with its own database): ``python -m tests.exchange_node SPEC.json``. The spec holds the
settings, the port, and the users and units to create on first start (a restart keeps the database).
Not a test module; stopped by its PID."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import uvicorn
from sqlalchemy import select

from app.settings import Settings


async def _seed(settings: Settings, spec: dict[str, Any]) -> None:
    from app.auth.models import Role, User
    from app.auth.service import hash_password
    from app.db import Database
    from app.migrate import upgrade_async
    from app.units.schemas import UnitCreate
    from app.units.service import create_unit

    await upgrade_async(settings.database_url)
    db = Database(settings.database_url)
    try:
        async with db.sessionmaker() as s:
            if await s.scalar(select(User).limit(1)) is not None:
                return
            pw = hash_password(spec.get("password", "correct-horse-42"))
            for u in spec.get("users", []):
                s.add(User(username=u["username"], display_name=u["username"], password_hash=pw,
                           role=Role(u["role"]), platform=u["platform"], unit_code=u.get("unit_code")))  # fmt: skip
            for code, name, kind, platform in spec.get("units", []):
                await create_unit(s, UnitCreate(code=code, name=name, kind=kind, platform=platform))
            await s.commit()
    finally:
        await db.dispose()


async def main(spec: dict[str, Any]) -> None:
    from app.main import create_app

    settings = Settings(**spec["settings"])
    await _seed(settings, spec)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=spec["port"], log_level="warning", lifespan="on"
        )
    )
    await server.serve()


if __name__ == "__main__":
    asyncio.run(main(json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))))
