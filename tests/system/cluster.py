"""`hotline run --workers N` as an operator starts it, for the process-model system tests: N HTTP
workers and a FastAGI process on PostgreSQL, with the runner's own sandbox Asterisk (or, with
``no_asterisk``, the servers the test started and put in ``HOTLINE_ASTERISK``). Stopped by its PID."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import REPO, free_port
from tests.waiting import wait_until_sync


@dataclass
class Cluster:
    proc: subprocess.Popen[Any]
    log: Path
    env: dict[str, str]
    http: int
    conf: Path
    db_url: str

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.http}"

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def leaders(self, role: str = "ami:main") -> list[int]:
        return [int(p) for p in re.findall(rf"leader for {role}: this process \(pid (\d+)", self.text())]

    def cli(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "app.cli", *args], cwd=REPO, env=self.env, capture_output=True,
            text=True, timeout=timeout,
        )  # fmt: skip

    def asterisk(self, command: str) -> str:
        return subprocess.run(
            ["asterisk", "-C", str(self.conf), "-rx", command], capture_output=True, text=True, timeout=20
        ).stdout

    async def admin(self) -> dict[str, str]:
        async with httpx.AsyncClient(base_url=self.base, timeout=30) as client:
            r = await client.post("/api/auth/login", json={"username": "admin", "password": "first-admin-pw"})
            assert r.status_code == 200, r.text
            return {"Authorization": f"Bearer {r.json()['token']}"}

    async def members(self, auth: dict[str, str], queue: str) -> set[str]:
        """The members the wallboard's live view shows for ``queue``, asked of a new connection each
        time (so of either worker)."""
        async with httpx.AsyncClient(base_url=self.base, timeout=30) as client:
            r = await client.get("/api/stats/live", headers=auth)
        assert r.status_code == 200, r.text
        for q in r.json()["queues"]:
            if q["name"] == queue:
                return {m["name"] for m in q["members"]}
        return set()

    async def all_agree(self, auth: dict[str, str], queue: str, want: set[str]) -> bool:
        return all([await self.members(auth, queue) == want for _ in range(6)])

    async def add_user(self, username: str, role: str, platform: str, password: str = "correct-horse-42") -> None:
        """A user made by the administrator through the API (no password change at first login)."""
        auth = await self.admin()
        async with httpx.AsyncClient(base_url=self.base, timeout=30) as client:
            r = await client.post(
                "/api/auth/users", headers=auth,
                json={"username": username, "password": password, "role": role, "platform": platform,
                      "display_name": username, "must_change_password": False},
            )  # fmt: skip
        assert r.status_code == 201, r.text


@contextmanager
def hotline_cluster(
    tmp_path: Path, db_url: str, *, workers: int = 2, env: dict[str, str] | None = None, no_asterisk: bool = False
) -> Iterator[Cluster]:
    ami, agi, http, sip = free_port(), free_port(), free_port(), free_port(socket.SOCK_DGRAM)
    full = {
        **os.environ,
        "HOTLINE_VAR_DIR": str(tmp_path / "var"),
        "HOTLINE_DATABASE_URL": db_url,
        "HOTLINE_HTTP_PORT": str(http),
        "HOTLINE_AGI_PORT": str(agi),
        "HOTLINE_SIP_PORT": str(sip),
        "HOTLINE_ASTERISK": json.dumps([{"ami_port": ami}]),
        "HOTLINE_ADMIN_PASSWORD": "first-admin-pw",
        "HOTLINE_LIVE_TRANSCRIPT": "false",
        "HOTLINE_STT_ENGINE": "none",
        # one FastAGI process unless a test asks for more: the fault tests kill "the" FastAGI process
        "HOTLINE_AGI_PROCESSES": "1",
        **(env or {}),
    }
    agi_processes = int(full["HOTLINE_AGI_PROCESSES"])
    log_path = tmp_path / "run.log"
    log = open(log_path, "w+")  # noqa: SIM115
    cmd = [sys.executable, "-m", "app.cli", "run", "--workers", str(workers)] + (["--no-asterisk"] if no_asterisk else [])
    proc = subprocess.Popen(cmd, cwd=REPO, env=full, stdout=log, stderr=subprocess.STDOUT)
    c = Cluster(
        proc, log_path, full, int(full["HOTLINE_HTTP_PORT"]),
        tmp_path / "var" / "asterisk" / "etc" / "asterisk.conf", db_url,
    )  # fmt: skip
    try:
        wait_until_sync(
            lambda: c.text().count("Application startup complete") >= workers
            and c.text().count("FastAGI process ready") >= agi_processes,
            180, f"{workers} HTTP workers and {agi_processes} FastAGI process(es) to start",
            check=lambda ok: ok or proc.poll() is not None, describe=lambda: c.text()[-3000:],
        )  # fmt: skip
        assert proc.poll() is None, c.text()
        yield c
    finally:
        asterisk_pid = re.search(r"Asterisk  pid (\d+)", c.text())
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
        log.close()
        if asterisk_pid:

            def gone() -> bool:
                try:
                    os.kill(int(asterisk_pid.group(1)), 0)
                except ProcessLookupError:
                    return True
                return False

            wait_until_sync(gone, 30, "the sandbox Asterisk to stop with the runner")
