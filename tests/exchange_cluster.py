"""Deployments in their own processes for the exchange tests and benchmark (no tests here): each node
is ``python -m tests.exchange_node`` on 127.0.0.1 with its own database, started, killed by its PID
and restarted by the caller."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import REPO, free_port
from tests.exchange_helpers import key
from tests.waiting import wait_until


@dataclass
class Node:
    name: str
    dir: Path
    settings: dict[str, Any]
    users: list[dict[str, str]] = field(default_factory=list)
    units: list[tuple[str, str, str, str]] = field(default_factory=list)
    port: int = field(default_factory=free_port)
    proc: asyncio.subprocess.Process | None = None
    headers: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, timeout: float = 300) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        spec = self.dir / "spec.json"
        spec.write_text(
            json.dumps(
                {"settings": self.settings, "port": self.port, "users": self.users, "units": self.units}
            ),
            encoding="utf-8",
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
        with self._log() as log:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "tests.exchange_node", str(spec), cwd=str(REPO), env=env,
                stdout=log, stderr=log,
            )  # fmt: skip

        async def up() -> bool:
            assert self.proc is not None and self.proc.returncode is None, self.log_tail()
            async with httpx.AsyncClient(trust_env=False) as c:
                return (await c.get(self.url + "/api/auth/me")).status_code == 401

        await wait_until(up, timeout, f"node {self.name} answering on {self.url}", interval=0.2, describe=self.log_tail)

    def _log(self) -> Any:
        return open(self.dir / "node.log", "ab")  # noqa: SIM115 - closed by the caller's with

    def log_tail(self) -> str:
        p = self.dir / "node.log"
        return p.read_text(encoding="utf-8", errors="replace")[-3000:] if p.exists() else ""

    async def kill(self) -> None:
        """SIGKILL by its PID: no shutdown, whatever was in flight is cut."""
        if self.proc is not None and self.proc.returncode is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            await self.proc.wait()
        self.proc = None

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 30)
            except TimeoutError:
                await self.kill()
        self.proc = None

    async def login(self, *usernames: str) -> None:
        async with httpx.AsyncClient(base_url=self.url, trust_env=False) as c:
            for u in usernames:
                r = await c.post("/api/auth/login", json={"username": u, "password": "correct-horse-42"})
                assert r.status_code == 200, r.text
                self.headers[u] = {"Authorization": f"Bearer {r.json()['token']}"}

    async def call(self, method: str, path: str, who: str, expect: int | None = 200, **kw: Any) -> Any:
        async with httpx.AsyncClient(base_url=self.url, trust_env=False, timeout=60) as c:
            r = await c.request(method, path, headers=self.headers[who], **kw)
        if expect is not None:
            assert r.status_code == expect, f"{self.name} {method} {path}: {r.status_code} {r.text}"
        return r.json() if r.content else None

    async def act(self, who: str, number: str, action: str, **kw: Any) -> dict[str, Any]:
        return await self.call(  # type: ignore[no-any-return]
            "POST", f"/api/cases/{number}/transitions", who, json={"action": action, **kw}
        )

    async def case(self, who: str, number: str) -> dict[str, Any] | None:
        async with httpx.AsyncClient(base_url=self.url, trust_env=False, timeout=60) as c:
            r = await c.get(f"/api/cases/{number}", headers=self.headers[who])
        return r.json() if r.status_code == 200 else None


def peer(name: str, node: Node, platforms: list[str], kid: str, batch: int = 20) -> dict[str, Any]:
    """Deployments of this software send each other batches (POST /exchange/v1/batch)."""
    return {"name": name, "url": node.url, "platforms": platforms, "keys": [key(kid)], "batch": batch}


def base_settings(d: Path, db_url: str, node: str, **kw: Any) -> dict[str, Any]:
    d.mkdir(parents=True, exist_ok=True)
    (d / "var").mkdir(exist_ok=True)
    (d / "var" / "case_rules.yaml").write_text("sweep_interval_s: 0\n", encoding="utf-8")
    return {
        "var_dir": str(d / "var"), "database_url": db_url, "ami_enabled": False, "agi_enabled": False,
        "session_secret": f"test-secret-{node}-0123456789", "exchange_node": node,
        "exchange_retry_base_s": 0.2, "exchange_retry_max_s": 1.0, "exchange_poll_s": 0.2, **kw,
    }  # fmt: skip


def province_and_prefectures(tmp: Path, urls: dict[str, str], with_dali: bool = True) -> dict[str, Node]:
    """prov (province + every prefecture no peer serves), km (Kunming), and dl (Dali) when asked.
    ``urls``: database URL per node name."""
    prov = Node("prov", tmp / "prov", {}, users=[
        {"username": "prov.sup", "role": "supervisor", "platform": "province"},
        {"username": "prov.root", "role": "admin", "platform": "province"},
    ])  # fmt: skip
    km = Node("km", tmp / "km", {}, users=[
        {"username": "km.agent", "role": "agent", "platform": "kunming"},
        {"username": "km.root", "role": "admin", "platform": "kunming"},
    ])  # fmt: skip
    nodes = {"prov": prov, "km": km}
    prov_peers = [peer("km-node", km, ["kunming"], "km-prov-1")]
    if with_dali:
        dl = Node("dl", tmp / "dl", {}, users=[
            {"username": "dl.agent", "role": "agent", "platform": "dali"},
            {"username": "dlwater.h", "role": "unit", "platform": "dali", "unit_code": "dl-water"},
        ], units=[("dl-water", "大理市供水公司", "utility", "dali")])  # fmt: skip
        nodes["dl"] = dl
        prov_peers.append(peer("dl-node", dl, ["dali"], "dl-prov-1"))
        dl.settings = base_settings(dl.dir, urls["dl"], "dl-node", exchange_platforms=["dali"],
                                    exchange_peers=[peer("prov-node", prov, ["province"], "dl-prov-1")])  # fmt: skip
    prov.settings = base_settings(prov.dir, urls["prov"], "prov-node", exchange_peers=prov_peers)
    km.settings = base_settings(km.dir, urls["km"], "km-node", exchange_platforms=["kunming"],
                                exchange_peers=[peer("prov-node", prov, ["province"], "km-prov-1")])  # fmt: skip
    return nodes
