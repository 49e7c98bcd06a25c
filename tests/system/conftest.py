"""System-test fixtures: a real sandbox Asterisk (session) and a live backend connected to it.

Production runs on PostgreSQL: the core system tests take the ``db_url`` fixture and so run twice,
on SQLite and on a fresh PostgreSQL database — routing (prefecture queues, overflow, FastAGI down,
closed → voicemail, CDR reconciliation), the screen-pop and the wallboard (desktop, two softphones,
wallboard after an Asterisk restart), voicemail (a left message transcribed into a case) and surveys
(ratings stored, retries surviving a restart). The rest use ``sqlite_url`` (one backend is enough
for what they check, e.g. SQLite's own locking in the slow-database test).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.settings import AsteriskServer, Settings
from app.telephony.lifecycle import TELEPHONY
from tests.conftest import make_settings, running_app
from tests.resources import require

CITIZEN_PHONE = "13987112001"  # a Kunming mobile whose phone, in the sandbox, is the softphone agent-1002


@dataclass
class AsteriskEnv:
    sandbox: Any
    server: AsteriskServer
    agi_port: int
    sip_port: int
    base_dir: Path


@pytest.fixture(scope="session")
def asterisk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AsteriskEnv]:
    require("asterisk")
    from asterisk_conf.render import SipAgent
    from asterisk_conf.sandbox import Sandbox
    from callflow import load_config
    from tests.system.softphone import with_test_wrapup

    base = tmp_path_factory.mktemp("asterisk")
    sb = Sandbox.on_loopback(
        with_test_wrapup(load_config()), base, rtp_start=31000, rtp_end=31999,
        agents=[SipAgent("agent-1001", "softphone-pw-1001"), SipAgent("agent-1002", "softphone-pw-1002")],
        citizen_phones={CITIZEN_PHONE: "agent-1002"},  # a call-back to this number rings softphone agent-1002
    )  # fmt: skip
    p = sb.params
    sb.start()
    try:
        yield AsteriskEnv(
            sb,
            AsteriskServer(
                ami_port=p.ami_port, ami_secret=p.ami_secret, agi_secret=p.agi_secret, recordings_dir=p.callrec_dir
            ),
            p.agi_port,
            p.sip_port,
            base,
        )
    finally:
        sb.stop()


def backend_settings(tmp_path: Path, db_url: str, ast: AsteriskEnv, **kw: Any) -> Settings:
    base: dict[str, Any] = dict(
        ami_enabled=True,
        agi_enabled=True,
        agi_port=ast.agi_port,
        asterisk=[ast.server],
        ami_ping_interval_s=1.0,
    )
    if "platform_config" not in kw:  # the shipped config as it is, but with the session Asterisk's wrap-up
        base["platform_config"] = write_config(tmp_path, always_open=False)
    return make_settings(tmp_path, db_url, **(base | kw))


@pytest.fixture
async def backend(
    tmp_path: Path, db_url: str, asterisk: AsteriskEnv
) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    async with running_app(backend_settings(tmp_path, db_url, asterisk)) as pair:
        yield pair


def write_config(tmp_path: Path, *, always_open: bool = True, closed: tuple[str, ...] = ()) -> Path:
    """A copy of the shipped Yunnan config whose hours do not depend on when the tests run:
    every platform 7x24 (always_open), and the platforms in `closed` closed right now; the tests'
    wrap-up (softphone.TEST_WRAPUP_S)."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    import yaml

    from callflow import default_config_path
    from tests.system.softphone import TEST_WRAPUP_S

    data = yaml.safe_load(default_config_path().read_text(encoding="utf-8"))
    data["wrapup_s"] = TEST_WRAPUP_S  # the session Asterisk's (not the shipped config's)
    now = datetime.now(ZoneInfo(data.get("timezone", "Asia/Shanghai")))
    start = now + timedelta(hours=2)
    if start.date() != now.date() or start.hour >= 23:
        start = now - timedelta(hours=3) if now.hour >= 3 else now + timedelta(hours=2)
    window = [[start.strftime("%H:%M"), (start + timedelta(minutes=30)).strftime("%H:%M")]]
    for p in data["platforms"]:
        if p["code"] in closed:
            p["hours"] = {"mode": "workdays", "windows": window}
        elif always_open:
            p["hours"] = {"mode": "7x24"}
    path = tmp_path / "platforms.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@dataclass
class SimMembers:
    """Simulated agents (Local channels that ring and never answer within the test) in queues."""

    conn: Any
    added: list[tuple[str, str]]

    async def remove(self) -> None:
        for queue, iface in self.added:
            try:
                await self.conn.action({"Action": "QueueRemove", "Queue": queue, "Interface": iface})
            except Exception:  # noqa: BLE001 - best effort cleanup of a shared sandbox
                pass


async def add_sim_members(app: Any, queues: list[str]) -> SimMembers:
    tel = app.state.runtime.require(TELEPHONY)
    conn = tel.connection_for(None)
    added = []
    for i, q in enumerate(queues):
        iface = f"Local/{7000 + i}@hotline-sim-agent/n"
        await conn.action(
            {
                "Action": "QueueAdd",
                "Queue": q,
                "Interface": iface,
                "MemberName": f"sim-{q}",
                "StateInterface": f"Custom:simagent-{7000 + i}",  # busy/free like a real phone
                "Paused": "false",
            }
        )
        added.append((q, iface))
    await tel.consumer.drained()
    return SimMembers(conn, added)
