"""Two Asterisk servers, one wallboard (issue 15): two sandbox Asterisks, each rendered with only its
platforms' queues (ast-west: the province's pool and Kunming; ast-dali: Dali), and `hotline run
--workers 2 --no-asterisk` connected to both. An agent in a queue of each server and a caller waiting
in each: the supervisor's wallboard in Chromium shows both queues right. Then one Asterisk is killed
(SIGKILL, by its PID): the wallboard shows its queues and agents as unavailable instead of the last
figures, the other server's as before; once it is back, its queues are right again (the call that
died with it is gone, a new one is shown)."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from app.settings import AsteriskServer
from app.simcall import place_call
from asterisk_conf.sandbox import Sandbox
from callflow import load_config
from tests.browser import PW_TIMEOUT_MS, chromium, login_page, screenshot_path
from tests.conftest import free_port
from tests.system.cluster import Cluster, hotline_cluster
from tests.system.softphone import DALI_MOBILE, open_all_day_config
from tests.waiting import wait_until

pytestmark = [
    pytest.mark.system,
    pytest.mark.needs("asterisk", "chromium"),
    pytest.mark.parametrize("db_url", ["postgresql"], indirect=True),
]

KUNMING_MOBILE = "13987112345"
PLATFORMS = {"ast-west": ("province", "kunming"), "ast-dali": ("dali",)}


@dataclass
class Rig:
    cluster: Cluster
    sandboxes: dict[str, Sandbox]

    def server(self, name: str) -> AsteriskServer:
        p = self.sandboxes[name].params
        return AsteriskServer(name=name, ami_port=p.ami_port, ami_secret=p.ami_secret, agi_secret=p.agi_secret)


@pytest.fixture
def rig(tmp_path: Path, db_url: str) -> Iterator[Rig]:
    path = open_all_day_config(tmp_path)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["overflow"]["after_s"] = 900  # callers stay in their prefecture's queue for the whole test
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    cfg = load_config(path)
    known = {p.code: p for p in cfg.platforms}
    agi = free_port()
    sandboxes: dict[str, Sandbox] = {}
    try:
        for i, (name, platforms) in enumerate(PLATFORMS.items()):
            (tmp_path / name).mkdir()
            sb = Sandbox.on_loopback(
                cfg, tmp_path / name, server_name=name, system_name=name, agi_port=agi,
                rtp_start=33000 + 1000 * i, rtp_end=33999 + 1000 * i,
                queues=tuple(q for c in platforms for q in known[c].queues),
            )  # fmt: skip
            sb.start()
            sandboxes[name] = sb
        servers = [
            {"name": n, "ami_port": sb.params.ami_port, "ami_secret": sb.params.ami_secret,
             "agi_secret": sb.params.agi_secret, "platforms": list(PLATFORMS[n])}
            for n, sb in sandboxes.items()
        ]  # fmt: skip
        env = {"HOTLINE_ASTERISK": json.dumps(servers), "HOTLINE_AGI_PORT": str(agi), "HOTLINE_PLATFORM_CONFIG": str(path)}
        with hotline_cluster(tmp_path, db_url, env=env, no_asterisk=True) as c:
            yield Rig(c, sandboxes)
    finally:
        for sb in sandboxes.values():
            sb.stop()


def _busy_agent(sb: Sandbox, queue: str, exten: int, name: str) -> None:
    """A logged-in agent on a call elsewhere (device in use): counted as staffed, never rung, so a
    caller waits in the queue."""
    sb.cli(f"devstate change Custom:simagent-{exten} INUSE")
    sb.cli(
        f"queue add member Local/{exten}@hotline-sim-agent/n to {queue} penalty 0 as {name} "
        f"state_interface Custom:simagent-{exten}"
    )


async def test_one_wallboard_over_two_asterisk_servers(rig: Rig) -> None:
    c, west, dali = rig.cluster, rig.sandboxes["ast-west"], rig.sandboxes["ast-dali"]
    for name in PLATFORMS:
        await wait_until(lambda n=name: c.leaders(f"ami:{n}"), 60, f"an AMI leader for {name}")
    # each server holds only its platforms' queues
    assert "q-kunming" in west.cli("queue show") and "q-dali" not in west.cli("queue show")
    assert "q-dali" in dali.cli("queue show") and "q-kunming" not in dali.cli("queue show")
    await c.add_user("zhou.sup", "supervisor", "province")
    _busy_agent(west, "q-kunming", 7101, "坐席昆明")
    _busy_agent(dali, "q-dali", 7201, "坐席大理")

    async with chromium() as browser:
        page = await login_page(browser, c.base, "zhou.sup")
        await page.goto(f"{c.base}/ui/wallboard")
        # the agents are in the shared live state (the FastAGI process loads it on the same notice as
        # the page's worker): only then do callers reach their prefecture's queue rather than the pool
        for agent in ("坐席昆明", "坐席大理"):
            await page.wait_for_selector(f"tr[data-agent='{agent}'] .state[data-state=on_call]", timeout=PW_TIMEOUT_MS)
        kunming = await place_call(rig.server("ast-west"), KUNMING_MOBILE, hangup=False, hold_s=600)
        assert kunming.queue == "q-kunming", kunming
        dali_call = await place_call(rig.server("ast-dali"), DALI_MOBILE, hangup=False, hold_s=600)
        assert dali_call.queue == "q-dali", dali_call
        for queue in ("q-kunming", "q-dali"):
            await page.wait_for_selector(
                f"tr[data-queue='{queue}'][data-available='true'] .waiting:text-is('1')", timeout=PW_TIMEOUT_MS
            )
        await page.wait_for_selector("tr[data-queue='q-province'][data-available='true'] .waiting:text-is('0')")

        # kill the Dali server
        assert dali.proc is not None
        os.kill(dali.proc.pid, signal.SIGKILL)
        killed = time.monotonic()
        dali.proc.wait(30)
        await page.wait_for_selector("tr[data-queue='q-dali'][data-available='false'] .waiting:text-is('—')", timeout=60_000)
        shown = time.monotonic()
        await page.wait_for_selector("tr[data-agent='坐席大理'] .state[data-state=unavailable]", timeout=PW_TIMEOUT_MS)
        # the other server's queues are untouched
        await page.wait_for_selector("tr[data-queue='q-kunming'][data-available='true'] .waiting:text-is('1')")
        await page.wait_for_selector("tr[data-agent='坐席昆明'] .state[data-state=on_call]")
        await page.screenshot(path=str(screenshot_path("wallboard-one-of-two-servers-down")))
        print(f"Dali's queue shown unavailable {shown - killed:.2f} s after its Asterisk was killed")

        # back: the call that died with it is gone; an agent and a new caller are shown again
        dali.start()
        back = time.monotonic()
        await page.wait_for_selector(
            "tr[data-queue='q-dali'][data-available='true'] .waiting:text-is('0')", timeout=60_000
        )
        print(f"Dali's queue right again {time.monotonic() - back:.2f} s after its Asterisk was started")
        # Asterisk forgot the dynamic member it had: so does the wallboard
        await page.wait_for_selector("tr[data-agent='坐席大理']", state="detached", timeout=PW_TIMEOUT_MS)
        _busy_agent(dali, "q-dali", 7201, "坐席大理")
        await page.wait_for_selector("tr[data-agent='坐席大理'] .state[data-state=on_call]", timeout=PW_TIMEOUT_MS)
        again = await place_call(rig.server("ast-dali"), DALI_MOBILE, hangup=False, hold_s=600)
        assert again.queue == "q-dali", again
        await page.wait_for_selector("tr[data-queue='q-dali'][data-available='true'] .waiting:text-is('1')", timeout=PW_TIMEOUT_MS)
        await page.wait_for_selector("tr[data-queue='q-kunming'][data-available='true'] .waiting:text-is('1')")
        await page.screenshot(path=str(screenshot_path("wallboard-two-servers-back")))
