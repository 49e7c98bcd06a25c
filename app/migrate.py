"""Run Alembic migrations programmatically (startup, CLI, tests)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config

from app.pg import advisory_lock, is_pg

HERE = Path(__file__).resolve().parent


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["configure_logger"] = False
    return cfg


def upgrade(url: str, revision: str = "heads") -> None:
    """Brings the schema to ``revision``. On PostgreSQL under an advisory lock: several processes
    starting at once (``hotline run --workers N``, units restarted together) migrate once; the others
    wait, then find the schema at head and do nothing."""
    if is_pg(url):
        asyncio.run(_locked_upgrade(url, revision))
        return
    db_file = None
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            db_file = Path(path)
            db_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    command.upgrade(alembic_config(url), revision)
    if db_file is not None:
        # citizens' numbers and cases: readable by the service's user only (SQLite gives the -wal and
        # -shm files the database file's mode)
        for f in (db_file, db_file.with_name(db_file.name + "-wal"), db_file.with_name(db_file.name + "-shm")):
            if f.exists():
                f.chmod(0o600)


async def _locked_upgrade(url: str, revision: str) -> None:
    async with advisory_lock(url, "migrate"):
        # Alembic's env.py runs its own event loop: in a thread, beside this one
        await asyncio.to_thread(command.upgrade, alembic_config(url), revision)


async def upgrade_async(url: str) -> None:
    await asyncio.to_thread(upgrade, url)
