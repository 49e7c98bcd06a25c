"""`hotline asterisk render --out DIR` for a real Asterisk: the files are included, the way an operator
would, from a real Asterisk started here on 127.0.0.1 — and Asterisk accepts them: it lists both
carrier trunks (registration and IP-authenticated) and the agent, registers the first, shows the
hotline dialplan pointing at the backend's FastAGI; then the real backend logs in with the configured
AMI secret and a call into the production dialplan reaches its FastAGI (with the key) and is queued
by the caller's region. Secrets live only in 0600 files and are never printed."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import socket
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from app.calls.models import Call
from app.settings import AsteriskServer
from app.telephony.lifecycle import TELEPHONY
from asterisk_conf.sandbox import Sandbox, free_port
from callflow import load_config
from tests.conftest import REPO, make_settings, running_app
from tests.system.conftest import write_config

TRUNK_PW = "carrier-secret-pw-4242"
AGENT_PW = "softphone-secret-9191"


class IncludingSandbox(Sandbox):
    """A loopback Asterisk whose main files only #include the rendered production files."""

    include_dir: Path

    def render(self) -> Path:
        conf = super().render()
        etc, d, p = self.params.base_dir / "etc", self.include_dir, self.params
        (etc / "manager.conf").write_text(
            f"[general]\nenabled = yes\nport = {p.ami_port}\nbindaddr = 127.0.0.1\n\n#include {d}/manager_hotline.conf\n"
        )
        (etc / "pjsip.conf").write_text(f"#include {d}/pjsip_hotline.conf\n")
        (etc / "extensions.conf").write_text(
            f"[general]\nstatic = yes\n\n#include {d}/extensions_hotline.conf\n"
        )
        (etc / "queues.conf").write_text(
            f"[general]\npersistentmembers = no\n\n#include {d}/queues_hotline.conf\n"
        )
        (etc / "queuerules.conf").write_text(f"#include {d}/queuerules_hotline.conf\n")
        with (etc / "modules.conf").open("a") as f:
            f.write("load => res_pjsip_outbound_registration.so\n")
        return conf


def _render(
    out: Path, *, ami_secret: str, agi_secret: str, agi_port: int, sip_port: int, carrier_port: int
) -> str:
    trunks = [
        {"name": "carrier-reg", "mode": "registration", "host": "127.0.0.1", "port": carrier_port,
         "username": "087112345", "password": TRUNK_PW, "outbound": True},
        {"name": "carrier-ip", "mode": "ip", "host": "127.0.0.1", "port": carrier_port + 1,
         "match": ["127.0.0.2", "127.0.1.0/24"], "platform_trunk": "trunk-dali"},
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env |= {
        "HOTLINE_VAR_DIR": str(out.parent / "var"),
        "HOTLINE_ASTERISK": json.dumps([{"ami_secret": ami_secret, "agi_secret": agi_secret}]),
        "HOTLINE_AGI_PORT": str(agi_port),
        "HOTLINE_CARRIER_TRUNKS": json.dumps(trunks),
        "HOTLINE_SIP_AGENTS": json.dumps([{"endpoint": "agent-2001", "password": AGENT_PW}]),
    }
    res = subprocess.run(
        [sys.executable, "-m", "app.cli", "asterisk", "render", "--out", str(out), "--sip-bind", "127.0.0.1",
         "--sip-port", str(sip_port), "--data-dir", str(out.parent / "data"), "--agi-host", "127.0.0.1"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    return res.stdout + res.stderr


async def test_rendered_production_config_is_accepted_by_a_real_asterisk(tmp_path):
    sb = Sandbox.on_loopback(load_config(), tmp_path / "ast")
    sb.__class__ = IncludingSandbox
    out = tmp_path / "hotline-conf"
    sb.include_dir = out  # type: ignore[attr-defined]
    carrier_port = free_port(
        kind=socket.SOCK_DGRAM
    )  # nothing listens: REGISTER stays on loopback, unanswered
    agi_key = secrets.token_hex(16)
    printed = _render(out, ami_secret=sb.params.ami_secret, agi_secret=agi_key, agi_port=sb.params.agi_port,
                      sip_port=sb.params.sip_port, carrier_port=carrier_port)  # fmt: skip

    modes = {p.name: p.stat().st_mode & 0o777 for p in out.iterdir() if p.is_file()}
    assert {n: m for n, m in modes.items() if n.endswith(".conf")} == dict.fromkeys(
        ["manager_hotline.conf", "pjsip_hotline.conf", "extensions_hotline.conf", "queues_hotline.conf",
         "queuerules_hotline.conf"],  # fmt: skip
        0o600,
    )
    assert out.stat().st_mode & 0o777 == 0o700
    for secret in (TRUNK_PW, AGENT_PW, sb.params.ami_secret, agi_key):
        assert secret not in printed
        for name in ("queues_hotline.conf", "README.txt"):
            assert secret not in (out / name).read_text()
    assert "hotline-sim-" not in (out / "extensions_hotline.conf").read_text()
    # the shipped office default: Asterisk enforces 15 s of 话后处理 after every call (docs/operations.md)
    assert "wrapuptime = 15" in (out / "queues_hotline.conf").read_text()
    assert "wrapuptime = 0" not in (out / "queues_hotline.conf").read_text()

    sb.start()
    try:
        endpoints = sb.cli("pjsip show endpoints")
        for name in ("carrier-reg", "carrier-ip", "agent-2001"):
            assert f"Endpoint:  {name}" in endpoints, endpoints
        regs = sb.cli("pjsip show registrations")
        assert "carrier-reg" in regs and f"127.0.0.1:{carrier_port}" in regs, regs
        ident = sb.cli("pjsip show endpoint carrier-ip")
        assert "127.0.0.2" in ident and "127.0.1.0/24" in ident, ident
        inbound = sb.cli("dialplan show 12345@hotline-inbound")
        assert "AGI(${HOTLINE_AGI}/incoming" in inbound, inbound
        assert f"agi://127.0.0.1:{sb.params.agi_port}" in sb.cli("dialplan show globals")
        assert "Dial(PJSIP/${EXTEN}@carrier-reg" in sb.cli("dialplan show hotline-outbound")
        assert "trunk-in-trunk-dali" in sb.cli("dialplan show trunk-in-trunk-dali")
        assert "q-kunming" in sb.cli("queue show q-kunming")
        # the skill queues' fallback rule, read by Asterisk from the included file
        assert "Rule:" in sb.cli("queue show rules"), sb.cli("queue show rules")

        # the real backend on this Asterisk: its AMI user logs in with the configured secret, and a call
        # into the production dialplan reaches FastAGI (with the key), is routed by region and queued
        server = AsteriskServer(
            ami_port=sb.params.ami_port, ami_secret=sb.params.ami_secret, agi_secret=agi_key
        )
        settings = make_settings(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'h.db'}", ami_enabled=True,
                                 agi_enabled=True, agi_port=sb.params.agi_port, asterisk=[server],
                                 platform_config=write_config(tmp_path))  # fmt: skip
        async with running_app(settings) as (app, _client):
            tel = app.state.runtime.require(TELEPHONY)
            conn = tel.connection_for(None)
            assert conn.connected
            await conn.action({
                "Action": "Originate", "Channel": "Local/12345@hotline-inbound", "Application": "Wait",
                "Data": "3", "CallerID": "13987112345 <13987112345>", "ChannelId": "prod-call-1",
                "OtherChannelId": "prod-call-1-b",
            })  # fmt: skip
            row = None
            for _ in range(100):
                await asyncio.sleep(0.1)
                async with app.state.runtime.db.sessionmaker() as s:
                    rows = (await s.execute(select(Call).where(Call.queue.is_not(None)))).scalars().all()
                # the AGI decision and the dialplan's HotlineRoute event (which carries the AGI time)
                # are two writes by two paths: wait for both
                if rows and rows[0].route and rows[0].agi_ms is not None:
                    row = rows[0]
                    break
            assert row is not None, f"no queued call with its AGI time: {[(r.route, r.queue, r.agi_ms) for r in rows]}"
            # Kunming's caller, no agent logged in anywhere: the provincial pool takes it (多援一)
            assert (row.route, row.platform, row.queue) == ("queue", "kunming", "q-province")
            assert row.caller == "13987112345" and row.agi_ms is not None
            assert tel.agi.app.stats["requests"] >= 1
            await conn.action({"Action": "Hangup", "Channel": "/^Local\\/12345@hotline-inbound/"})
    finally:
        sb.stop()
