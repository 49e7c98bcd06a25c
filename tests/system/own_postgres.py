"""A PostgreSQL cluster of the test's own (initdb in a private directory, trust auth, a free loopback
port), for faults that must not touch the machine's shared PostgreSQL on 5432: restarting it, for one.

PostgreSQL refuses to run as root: as root, the cluster belongs to the ``postgres`` account and its
programs run through ``runuser``. The server is stopped by the PID in its postmaster.pid (never by
name), and its directory removed at the end."""

from __future__ import annotations

import asyncio
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.conftest import free_port
from tests.waiting import wait_until_sync


def pg_bin() -> Path | None:
    """The newest installed server's programs (Debian's /usr/lib/postgresql/<major>/bin)."""
    found = sorted(
        (p for p in glob.glob("/usr/lib/postgresql/*/bin") if os.path.exists(f"{p}/initdb")),
        key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0,
    )
    return Path(found[-1]) if found else None


class OwnPostgres:
    """initdb + postgres on 127.0.0.1:<port>; ``restart()`` stops it (fast shutdown: every session is
    cut) and starts it again on the same port and data."""

    def __init__(self, user: str = "hotline") -> None:
        bindir = pg_bin()
        if bindir is None:
            raise RuntimeError("no PostgreSQL server programs under /usr/lib/postgresql/*/bin")
        self.bin = bindir
        self.user = user
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="hotline-own-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "postgres.log"
        self.proc: subprocess.Popen[Any] | None = None
        self.pid: int | None = None
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.dir, owner.pw_uid, owner.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self.dir.chmod(0o700)

    def url(self, database: str = "hotline") -> str:
        return f"postgresql+asyncpg://{self.user}@127.0.0.1:{self.port}/{database}"

    def init(self) -> None:
        subprocess.run(
            [*self.as_user, str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", self.user,
             "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"],
            check=True, capture_output=True, text=True, timeout=120,
        )  # fmt: skip

    def start(self) -> None:
        # runuser stays the parent of postgres; the server's own PID comes from postmaster.pid
        self.proc = subprocess.Popen(
            [*self.as_user, str(self.bin / "postgres"), "-D", str(self.data), "-p", str(self.port),
             "-k", str(self.dir), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
             "-c", "max_connections=100", "-c", f"log_directory={self.dir}", "-c", "logging_collector=off"],
            stdout=open(self.log, "a"), stderr=subprocess.STDOUT,  # noqa: SIM115
        )  # fmt: skip
        wait_until_sync(self._ready, 60, "our own PostgreSQL to accept connections", describe=self._tail)
        self.pid = int((self.data / "postmaster.pid").read_text().split()[0])

    def _ready(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"our own PostgreSQL exited: {self._tail()}")
        r = subprocess.run(
            [str(self.bin / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, "-d", "postgres"],
            capture_output=True, timeout=10,
        )  # fmt: skip
        return r.returncode == 0 and (self.data / "postmaster.pid").exists()

    def _tail(self) -> str:
        return self.log.read_text(errors="replace")[-2000:] if self.log.exists() else "(no log)"

    def stop(self) -> None:
        """Fast shutdown (SIGINT to the postmaster: every session is terminated), waited for."""
        if self.pid is None:
            return
        pid, self.pid = self.pid, None
        try:
            os.kill(pid, signal.SIGINT)
        except ProcessLookupError:
            pass
        if self.proc is not None:
            self.proc.wait(60)
            self.proc = None

        def gone() -> bool:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return True
            return False

        wait_until_sync(gone, 60, f"our own PostgreSQL (pid {pid}) to stop")

    def restart(self) -> float:
        """Stops and starts the server; returns the monotonic time it accepted connections again."""
        self.stop()
        self.start()
        return time.monotonic()

    def create_database(self, name: str = "hotline") -> None:
        import asyncpg

        async def create() -> None:
            conn = await asyncpg.connect(host="127.0.0.1", port=self.port, user=self.user, database="postgres")
            try:
                await conn.execute(f'CREATE DATABASE "{name}"')
            finally:
                await conn.close()

        asyncio.run(create())


@contextmanager
def own_postgres() -> Iterator[OwnPostgres]:
    pg = OwnPostgres()
    try:
        pg.init()
        pg.start()
        pg.create_database()
        yield pg
    finally:
        try:
            pg.stop()
        finally:
            shutil.rmtree(pg.dir, ignore_errors=True)
