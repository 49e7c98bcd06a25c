"""System-test fixtures: a real sandbox Asterisk (session) and a live backend connected to it."""

from __future__ import annotations

import shutil
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.settings import AsteriskServer, Settings
from tests.conftest import free_port, make_settings, running_app


@dataclass
class AsteriskEnv:
    sandbox: Any
    server: AsteriskServer
    agi_port: int
    sip_port: int
    base_dir: Path


@pytest.fixture(scope="session")
def asterisk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AsteriskEnv]:
    if not shutil.which("asterisk"):
        pytest.fail("asterisk is not installed: run scripts/install-system-deps.sh")
    from asterisk_conf.render import RenderParams, SipAgent
    from asterisk_conf.sandbox import Sandbox
    from callflow import load_config

    base = tmp_path_factory.mktemp("asterisk")
    ami_port, agi_port, sip_port = free_port(), free_port(), free_port(socket.SOCK_DGRAM)
    params = RenderParams(
        base_dir=base, ami_port=ami_port, ami_secret="sys-test-secret", agi_port=agi_port, sip_port=sip_port,
        rtp_start=31000, rtp_end=31999,
        agents=[SipAgent("agent-1001", "softphone-pw-1001"), SipAgent("agent-1002", "softphone-pw-1002")],
    )
    sb = Sandbox(load_config(), params)
    sb.start()
    try:
        yield AsteriskEnv(sb, AsteriskServer(ami_port=ami_port, ami_secret="sys-test-secret"), agi_port, sip_port,
                          base)
    finally:
        sb.stop()


def backend_settings(tmp_path: Path, db_url: str, ast: AsteriskEnv, **kw: Any) -> Settings:
    return make_settings(tmp_path, db_url, ami_enabled=True, agi_enabled=True, agi_port=ast.agi_port,
                         asterisk=[ast.server], ami_ping_interval_s=1.0, **kw)


@pytest.fixture
async def backend(tmp_path: Path, sqlite_url: str, asterisk: AsteriskEnv) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    async with running_app(backend_settings(tmp_path, sqlite_url, asterisk)) as pair:
        yield pair
