"""Helpers shared by the benchmarks: a throwaway PostgreSQL database, and the real backend started the
way an operator starts it (``hotline run --no-asterisk`` in its own process, configured by HOTLINE_*
environment variables), stopped by its own PID. Everything listens on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx

PG_ADMIN = os.environ.get("HOTLINE_TEST_PG", "postgresql://root@127.0.0.1:5432/test")
PG_BASE = "postgresql+asyncpg://root@127.0.0.1:5432/"
HOTLINE = Path(sys.executable).parent / "hotline"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) used so far by a process and its children (psutil)."""
    import psutil

    p = psutil.Process(pid)
    return _cpu_of([p, *p.children(recursive=True)])


def _cpu_of(procs: Any) -> float:
    """User + system CPU seconds of these psutil processes (one that is gone counts nothing)."""
    import psutil

    total = 0.0
    for proc in procs:
        try:
            t = proc.cpu_times()
            total += t.user + t.system
        except psutil.Error:
            pass
    return total


def run_delay_s(pid: int) -> float:
    """Seconds the process's threads (and its children's) spent runnable but waiting for a CPU
    (/proc/<pid>/task/*/schedstat): how much other jobs on the machine held it back."""
    import psutil

    total = 0.0
    for p in [pid, *(c.pid for c in psutil.Process(pid).children(recursive=True))]:
        for stat in Path(f"/proc/{p}/task").glob("*/schedstat"):
            try:
                total += int(stat.read_text().split()[1]) / 1e9
            except (OSError, IndexError, ValueError):
                pass
    return total


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, every core (psutil): the share of the
    cores in use over a run is the quotient of the two deltas."""
    import psutil

    t = psutil.cpu_times()
    idle = t.idle + getattr(t, "iowait", 0.0)
    total = sum(t)
    return total - idle, total


def postgres_cpu_s() -> float:
    """CPU seconds used so far by this machine's PostgreSQL server processes (every database's)."""
    import psutil

    return _cpu_of(p for p in psutil.process_iter(["name"]) if p.info["name"] in ("postgres", "postmaster"))


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


async def pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def database(kind: str, tmp: Path) -> AsyncIterator[str]:
    """A fresh database URL: a SQLite file under tmp, or a PostgreSQL database dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp / 'hotline.db'}"
        return
    name = f"hotline_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    await pg_admin(f'CREATE DATABASE "{name}"')
    try:
        yield PG_BASE + name
    finally:
        await pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def backend_env(var_dir: Path, db_url: str, http_port: int, **extra: Any) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env.update(
        HOTLINE_VAR_DIR=str(var_dir),
        HOTLINE_DATABASE_URL=db_url,
        HOTLINE_HTTP_PORT=str(http_port),
        HOTLINE_ADMIN_PASSWORD="bench-admin-pass-1",
        HOTLINE_STT_ENGINE="none",
        HOTLINE_LIVE_TRANSCRIPT="false",
        HOTLINE_LOG_LEVEL="WARNING",
    )
    env.update({f"HOTLINE_{k.upper()}": str(v) for k, v in extra.items()})
    return env


@contextlib.contextmanager
def hotline_run(env: dict[str, str], log: Path, args: tuple[str, ...] = ()) -> Iterator[subprocess.Popen[bytes]]:
    """`hotline run --no-asterisk [args]` in its own process group; stopped (SIGINT, then SIGKILL) by PID."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(HOTLINE), "run", "--no-asterisk", *args], env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        try:
            yield proc
        finally:
            stop(proc, signal.SIGINT, group=True, wait_s=20)


def stop(proc: subprocess.Popen[Any], sig: int = signal.SIGTERM, *, group: bool = False, wait_s: float = 10) -> None:
    """Stops a process the bench started, by its PID (with ``group``, its whole process group): ``sig``,
    then SIGKILL if it is still there after ``wait_s``."""
    if proc.poll() is not None:
        return
    send = (lambda s: os.killpg(proc.pid, s)) if group else proc.send_signal
    send(sig)
    try:
        proc.wait(wait_s)
    except subprocess.TimeoutExpired:
        send(signal.SIGKILL)
        proc.wait(10)


def tail(log: Path, n: int = 3000) -> str:
    return log.read_text(errors="replace")[-n:]


async def wait_healthy(base: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=base, timeout=5) as c:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"the backend exited ({proc.returncode}):\n{tail(log)}")
            try:
                r = await c.get("/api/auth/me")
                if r.status_code in (200, 401):
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.3)
    raise RuntimeError(f"the backend did not answer within {timeout} s:\n{tail(log)}")


async def add_users(db_url: str, users: list[dict[str, Any]], password: str) -> None:
    """Inserts users directly (one argon2 hash shared by all: hashing 200 passwords is not what is measured)."""
    from app.auth.models import User
    from app.auth.service import hash_password
    from app.db import Database

    db = Database(db_url)
    pw = hash_password(password)
    try:
        async with db.sessionmaker() as s:
            s.add_all([User(password_hash=pw, display_name=u["username"], **u) for u in users])
            await s.commit()
    finally:
        await db.dispose()


async def mint_sessions(db_url: str, var_dir: Path, usernames: list[str]) -> dict[str, str]:
    """Session tokens signed with the backend's own secret (var/secrets/session_secret), as its login
    would issue them: 200 argon2 verifications are not what a screen-pop benchmark measures."""
    from sqlalchemy import select

    from app.auth.models import User
    from app.auth.service import TokenSigner
    from app.db import Database
    from app.settings import read_secret

    signer = TokenSigner(read_secret(var_dir, "session_secret") or "", 12 * 3600)
    db = Database(db_url)
    try:
        async with db.sessionmaker() as s:
            users = list(await s.scalars(select(User).where(User.username.in_(usernames))))
    finally:
        await db.dispose()
    return {u.username: signer.issue(u) for u in users}


async def login_all(base: str, usernames: list[str], password: str, parallel: int = 4) -> dict[str, str]:
    sem = asyncio.Semaphore(parallel)
    tokens: dict[str, str] = {}
    async with httpx.AsyncClient(base_url=base, timeout=60) as c:

        async def one(name: str) -> None:
            async with sem:
                r = await c.post("/api/auth/login", json={"username": name, "password": password})
                r.raise_for_status()
                tokens[name] = r.json()["token"]

        await asyncio.gather(*(one(n) for n in usernames))
    return tokens
