"""The AMI event stream follows leadership (docs/adr/2026-12-03-ami-event-mask.md), on `hotline run
--workers 2` with PostgreSQL and its sandbox Asterisk (tests/system/cluster.py): while calls and queue
changes happen, the follower's session receives none of the queue/agent events (hotline_ami_events on
its /metrics), and after the leader is killed the new leader receives the queue events and every
worker shows the right queue. Each worker is asked through a keep-alive connection of its own, checked
by the PID it reports. A session with the follower's mask still gets the answers of its Originates
(call-backs and surveys wait for them), also after a reconnect."""

from __future__ import annotations

import json
import os
import re
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from app.telephony.ami import AmiConnection, event_mask
from app.telephony.handlers import DECISION_EVENT
from app.telephony.originate import originate_and_wait
from app.telephony.subscriptions import SUBSCRIPTIONS
from tests.system.cluster import Cluster, hotline_cluster
from tests.system.conftest import AsteriskEnv
from tests.waiting import wait_until

pytestmark = [pytest.mark.needs("asterisk")]

# the consumer's events that are not of class `call` (Queue*, Agent*: `agent`; UserEvent: `user`)
QUEUE_EVENTS = set(SUBSCRIPTIONS) - {DECISION_EVENT, "Hangup", "DialEnd"}
AGENT = "Local/{}@hotline-sim-agent/n"
CITIZEN = {"Channel": "Local/0@hotline-sim-citizen/n", "Application": "Wait", "Data": "1", "Timeout": "5000"}


@pytest.fixture
def cluster(tmp_path: Path, db_url: str) -> Iterator[Cluster]:
    with hotline_cluster(tmp_path, db_url) as c:
        yield c


@dataclass
class Seen:
    pid: int
    mask: str  # the event mask its session asks for (/health)
    counts: dict[tuple[str, str], float]  # hotline_ami_events_total: (role, event) -> count


async def seen_by(c: Cluster, auth: dict[str, str], leading: bool) -> Seen:
    """What the worker that leads (or follows) the server has received: new connections until one
    lands on it, then its /metrics on that same keep-alive connection."""
    for _ in range(60):
        async with httpx.AsyncClient(base_url=c.base, timeout=30) as client:
            h = (await client.get("/health")).json()
            if h["ami"]["main"]["leader"] is not leading:
                continue
            r = await client.get("/metrics", headers=auth)
            assert r.status_code == 200, r.text
            assert (await client.get("/health")).json()["process"]["pid"] == h["process"]["pid"]
        counts: dict[tuple[str, str], float] = {}
        for labels, value in re.findall(r"^hotline_ami_events_total\{([^}]*)\} (\S+)$", r.text, re.M):
            d = dict(re.findall(r'(\w+)="([^"]*)"', labels))
            counts[(d["role"], d["event"])] = float(value)
        return Seen(h["process"]["pid"], h["ami"]["main"]["events"], counts)
    raise AssertionError(f"no connection reached a worker with leader={leading}")


def queue_events(counts: dict[tuple[str, str], float], role: str) -> dict[str, float]:
    return {e: n for (r, e), n in counts.items() if r == role and e in QUEUE_EVENTS and n}


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_followers_get_no_queue_events_and_the_new_leader_does(cluster: Cluster) -> None:
    c = cluster
    auth = await c.admin()
    [first] = c.leaders()
    assert (await seen_by(c, auth, True)).mask == "on" and (await seen_by(c, auth, False)).mask == "call"

    # queue changes and a call through the queue (routed by FastAGI, rung to a simulated agent)
    c.asterisk(f"queue add member {AGENT.format(7101)} to q-kunming penalty 0 as 坐席甲")
    await wait_until(lambda: c.all_agree(auth, "q-kunming", {"坐席甲"}), 60, "both workers to show 坐席甲")
    out = c.cli("call", "--from", "13987112345", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["route"] == "queue", out.stdout
    follower = await wait_until(
        lambda: seen_by(c, auth, False), 30, "the follower to receive the call's own events",
        check=lambda s: s.counts.get(("follower", "Hangup"), 0) >= 1,  # after its queue events, were they sent
    )  # fmt: skip
    assert queue_events(follower.counts, "follower") == {}, follower
    leader = await seen_by(c, auth, True)
    assert leader.pid == first
    assert {"QueueMemberAdded", "QueueCallerJoin"} <= set(queue_events(leader.counts, "leader")), leader
    print(f"events received for one call and one queue change: leader {sum(leader.counts.values()):.0f}, "
          f"follower {sum(follower.counts.values()):.0f}", follower.counts)  # fmt: skip

    # kill the leader; a change meanwhile and one after the election reach every worker
    os.kill(first, signal.SIGKILL)
    c.asterisk(f"queue add member {AGENT.format(7102)} to q-kunming penalty 0 as 坐席乙")
    await wait_until(lambda: len(c.leaders()) >= 2, 60, "another worker to lead after the leader was killed")
    second = c.leaders()[-1]
    assert second != first
    await wait_until(lambda: c.all_agree(auth, "q-kunming", {"坐席甲", "坐席乙"}), 60, "the resync in every worker")
    c.asterisk(f"queue remove member {AGENT.format(7101)} from q-kunming")
    await wait_until(lambda: c.all_agree(auth, "q-kunming", {"坐席乙"}), 60, "the removal in every worker")
    new = await seen_by(c, auth, True)
    assert new.pid == second and new.mask == "on"
    assert new.counts.get(("leader", "QueueMemberRemoved"), 0) >= 1, new
    assert queue_events(new.counts, "follower") == {}, new  # nothing of the kind while it followed
    c.asterisk(f"queue remove member {AGENT.format(7102)} from q-kunming")


async def test_a_follower_mask_survives_a_reconnect(asterisk: AsteriskEnv) -> None:
    """A session with the follower's mask: after a new login it still gets no queue events, and an
    Originate's answer still comes (events arrive in order: the OriginateResponse after the queue
    change is the point by which that change's event would have come)."""
    sandbox, server = asterisk.sandbox, asterisk.server
    got: list[dict[str, str]] = []
    conn = AmiConnection(server, on_event=lambda _s, ev: got.append(ev), event_mask=event_mask(leading=False))
    await conn.start()
    try:
        assert await conn.wait_connected(10)
        conn.reconnect()
        await wait_until(lambda: conn.logins >= 2 and conn.connected, 20, "a new login")
        sandbox.cli(f"queue add member {AGENT.format(7103)} to q-kunming penalty 0 as 坐席丙")
        # a call-back waits for its OriginateResponse (app.telephony.originate) ...
        answered = await originate_and_wait(conn, {**CITIZEN, "ChannelId": "mask-cb"}, timeout=20)
        assert answered.ok, answered
        # ... a survey sends the Originate and its listener gets the answer (app.surveys.scheduler)
        await conn.action({"Action": "Originate", **CITIZEN, "ActionID": "mask-survey"})
        await wait_until(
            lambda: [e for e in got if e.get("Event") == "OriginateResponse" and e.get("ActionID") == "mask-survey"],
            20, "the survey's OriginateResponse",
        )  # fmt: skip
        assert not [e["Event"] for e in got if e.get("Event") in QUEUE_EVENTS], got
        assert {e.get("Privilege", "").split(",")[0] for e in got} <= {"call", "system"}, got
        await conn.set_event_mask(event_mask(leading=True))
        sandbox.cli(f"queue remove member {AGENT.format(7103)} from q-kunming")
        await wait_until(lambda: [e for e in got if e.get("Event") == "QueueMemberRemoved"], 20, "the full mask")
    finally:
        await conn.close()
