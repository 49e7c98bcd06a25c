"""`hotline run --workers 2` on PostgreSQL with its own sandbox Asterisk (docs/adr/process-model.md),
and its faults: kill the AMI leader (another worker takes over and the queue state is right), kill
the FastAGI process (calls fall back to the default queue, none is stranded, their rows are closed,
and the restarted process routes again), lose the message bus (pages reconnect and resync).
Every process killed here is one this test started (the runner's children)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import websockets

from app.pg import dsn
from tests.system.cluster import Cluster, hotline_cluster
from tests.waiting import wait_until

pytestmark = [pytest.mark.needs("asterisk"), pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)]


@pytest.fixture
def cluster(tmp_path: Path, db_url: str) -> Iterator[Cluster]:
    with hotline_cluster(tmp_path, db_url) as c:
        yield c


async def _admin(c: Cluster) -> dict[str, str]:
    return await c.admin()


def _kill(pid: int) -> float:
    os.kill(pid, signal.SIGKILL)
    return time.monotonic()


async def test_workers_share_state_and_survive_the_ami_leader_and_agi_dying(cluster: Cluster) -> None:
    c = cluster
    auth = await _admin(c)
    # one consumer of the server's AMI events, whichever worker won
    [first] = c.leaders()
    # a change seen through the leader is shown by every worker
    c.asterisk("queue add member Local/7101@hotline-sim-agent/n to q-kunming penalty 0 as 坐席甲")
    await wait_until(lambda: c.all_agree(auth, "q-kunming", {"坐席甲"}), 60, "both workers to show 坐席甲")

    # kill the leader: a change made meanwhile is not lost (the new leader resyncs from Asterisk)
    killed = _kill(first)
    c.asterisk("queue add member Local/7102@hotline-sim-agent/n to q-kunming penalty 0 as 坐席乙")
    await wait_until(lambda: len(c.leaders()) >= 2, 60, "another worker to lead after the leader was killed")
    print(f"AMI leadership taken over {time.monotonic() - killed:.2f} s after the kill (upper bound)")
    assert c.leaders()[-1] != first
    await wait_until(
        lambda: c.all_agree(auth, "q-kunming", {"坐席甲", "坐席乙"}), 60, "the workers to show both members"
    )
    c.asterisk("queue remove member Local/7101@hotline-sim-agent/n from q-kunming")
    c.asterisk("queue remove member Local/7102@hotline-sim-agent/n from q-kunming")
    await wait_until(lambda: c.all_agree(auth, "q-kunming", set()), 60, "the removals in every worker")

    # a call routed by the FastAGI process
    out = c.cli("call", "--from", "13987112345", "--json")
    assert out.returncode == 0, out.stderr
    routed = json.loads(out.stdout)
    assert routed["route"] == "queue" and routed["agi_ms"] is not None, routed

    # kill the FastAGI process: calls fall back to the default queue and none is left open
    agi_pid = int(re.findall(r"agi pid (\d+)", c.text())[-1])
    _kill(agi_pid)
    out = c.cli("call", "--from", "13987112345", "--json")
    assert out.returncode == 0, out.stderr
    during = json.loads(out.stdout)
    assert during["reached"], during
    await wait_until(lambda: "(restarted)" in c.text(), 60, "the runner to start another FastAGI process")
    await wait_until(
        lambda: c.text().count("FastAGI process ready") >= 2, 60, "the new FastAGI process to be ready"
    )
    out = c.cli("call", "--from", "13987112345", "--json")
    after = json.loads(out.stdout)
    assert after["route"] == "queue" and after["agi_ms"] is not None, after

    async def closed(uid: str) -> dict[str, Any] | None:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{c.http}", timeout=30) as client:
            r = await client.get(f"/api/calls/{uid}", headers=auth)
        body = r.json() if r.status_code == 200 else None
        return body if body and body.get("ended_at") else None

    for call in (routed, during, after):
        row = await wait_until(lambda u=call["uniqueid"]: closed(u), 60, f"the call row of {call['uniqueid']} closed")
        assert row is not None
    print("calls while FastAGI was dead:", during["route"], during.get("queue"))


async def test_pages_reconnect_and_resync_after_the_bus_was_lost(cluster: Cluster) -> None:
    c = cluster
    auth = await _admin(c)
    url = f"ws://127.0.0.1:{c.http}/ws/wallboard"
    snapshots: list[float] = []
    ended = asyncio.Event()

    async def page() -> None:
        """A wallboard page as hotline.js runs it: reconnects 0.5 s after a close."""
        while True:
            try:
                async with websockets.connect(url, additional_headers=auth) as ws:
                    while True:
                        msg = json.loads(await ws.recv())
                        if msg.get("type") == "live":
                            snapshots.append(time.monotonic())
            except websockets.ConnectionClosed:
                ended.set()
            except OSError:
                pass
            await asyncio.sleep(0.5)

    task = asyncio.create_task(page())
    try:
        await wait_until(lambda: snapshots, 60, "the wallboard's first snapshot")
        admin = await asyncpg.connect(dsn(c.db_url))
        try:
            # what a PostgreSQL restart does to every worker's listening session
            lost = time.monotonic()
            n = await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = 'hotline-bus' AND datname = current_database()"
            )
            assert n >= 3  # two workers and the FastAGI process
        finally:
            await admin.close()
        await wait_until(lambda: ended.is_set(), 60, "the server to close the page's socket")
        await wait_until(lambda: snapshots[-1] > lost, 60, "a fresh snapshot after the reconnect")
        print(f"page resynced {snapshots[-1] - lost:.2f} s after the bus was lost")
        # and pushes cross workers again: a change through the new leader reaches this page
        before = len(snapshots)
        c.asterisk("queue add member Local/7103@hotline-sim-agent/n to q-kunming penalty 0 as 坐席丙")
        await wait_until(lambda: len(snapshots) > before, 60, "a push after the bus came back")
        c.asterisk("queue remove member Local/7103@hotline-sim-agent/n from q-kunming")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
