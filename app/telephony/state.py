"""Live queue and agent state, rebuilt from Asterisk's own answers (QueueStatus) and kept by events."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

# the pause reason the backend sets for wrap-up after a call (app.agents.component), ended by the backend
WRAPUP_REASON = "话后处理"

# Asterisk device states in QueueMember/QueueMemberStatus
MEMBER_STATUS = {
    "0": "unknown",
    "1": "available",
    "2": "in_use",
    "3": "busy",
    "4": "invalid",
    "5": "unavailable",
    "6": "ringing",
    "7": "ringing",
    "8": "on_hold",
}


@dataclass
class Member:
    queue: str
    interface: str
    name: str
    status: str = "available"
    paused: bool = False
    reason: str = ""
    since: float = field(default_factory=time.time)
    calls_taken: int = 0

    @property
    def signed_in(self) -> bool:
        """In the queue with a reachable phone, paused (wrap-up, 示忙) or not."""
        return self.status not in ("invalid", "unavailable")

    @property
    def staffed(self) -> bool:
        return not self.paused and self.signed_in

    @property
    def routable(self) -> bool:
        """Staffed, or paused only for wrap-up (话后处理), which ends by itself within seconds: a new
        caller can expect this agent as soon as one on a call (who counts as staffed) — a 示忙 does not."""
        return self.signed_in and (not self.paused or self.reason == WRAPUP_REASON)


@dataclass
class Waiting:
    queue: str
    uniqueid: str
    caller: str
    joined_at: float
    position: int = 0


@dataclass
class QueueState:
    name: str
    server: str
    members: dict[str, Member] = field(default_factory=dict)
    waiting: dict[str, Waiting] = field(default_factory=dict)


class QueueCounts(Mapping[str, int]):
    """A count per queue, taken when a queue is asked for, from the state as it is then: routing asks
    for one or two queues among the province's dozens, once per call (every agent of every queue was
    counted for each call before)."""

    def __init__(self, queues: dict[str, QueueState], count: Callable[[QueueState], int]) -> None:
        self._queues, self._count = queues, count

    def __getitem__(self, name: str) -> int:
        return self._count(self._queues[name])

    def __iter__(self) -> Iterator[str]:
        return iter(self._queues)

    def __len__(self) -> int:
        return len(self._queues)


class TelephonyState:
    def __init__(self) -> None:
        self.queues: dict[str, QueueState] = {}
        self.synced_servers: set[str] = set()

    def queue(self, name: str, server: str = "main") -> QueueState:
        q = self.queues.get(name)
        if q is None:
            q = self.queues[name] = QueueState(name=name, server=server)
        return q

    def agents_by_queue(self) -> Mapping[str, int] | None:
        """Staffed (logged-in, unpaused) members per queue, or None while state is unknown."""
        return self._counts(lambda q: sum(1 for m in q.members.values() if m.staffed))

    def routable_by_queue(self) -> Mapping[str, int] | None:
        """Members per queue a new caller can be answered by without leaving the queue's platform
        (Member.routable: wrap-up included, 示忙 not), or None while state is unknown. What routing
        counts: a prefecture whose agents are all in wrap-up keeps its callers (属地接听) instead of
        sending them straight to the province, as it would not if they were on calls."""
        return self._counts(lambda q: sum(1 for m in q.members.values() if m.routable))

    def signed_in_by_queue(self) -> Mapping[str, int] | None:
        """Signed-in members per queue, paused ones included (a wrap-up ends by itself), or None while
        state is unknown."""
        return self._counts(lambda q: sum(1 for m in q.members.values() if m.signed_in))

    def waiting_by_queue(self) -> Mapping[str, int] | None:
        """Callers waiting per queue, or None while state is unknown."""
        return self._counts(lambda q: len(q.waiting))

    def _counts(self, count: Callable[[QueueState], int]) -> Mapping[str, int] | None:
        return QueueCounts(self.queues, count) if self.synced_servers else None

    def replace_server(self, server: str, messages: list[dict[str, str]], now: float | None = None) -> None:
        """Rebuild one server's queues from a QueueStatus answer (QueueParams/QueueMember/QueueEntry)."""
        now = now or time.time()
        old = {n: q for n, q in self.queues.items() if q.server == server}
        for n in old:
            del self.queues[n]
        for msg in messages:
            ev = msg.get("Event")
            if ev == "QueueParams":
                self.queue(msg["Queue"], server)
            elif ev == "QueueMember":
                q = self.queue(msg["Queue"], server)
                iface = msg.get("StateInterface") or msg.get("Location") or msg.get("Interface", "")
                prev = old.get(q.name, QueueState(q.name, server)).members.get(iface)
                m = Member(
                    queue=q.name,
                    interface=iface,
                    name=msg.get("Name") or msg.get("MemberName") or iface,
                    status=MEMBER_STATUS.get(msg.get("Status", "0"), "unknown"),
                    paused=msg.get("Paused") == "1",
                    reason=msg.get("PausedReason", ""),
                    calls_taken=int(msg.get("CallsTaken", "0") or 0),
                )
                if prev and prev.status == m.status and prev.paused == m.paused:
                    m.since = prev.since
                q.members[iface] = m
            elif ev == "QueueEntry":
                q = self.queue(msg["Queue"], server)
                wait = int(msg.get("Wait", "0") or 0)
                uid = msg.get("Uniqueid", "")
                q.waiting[uid] = Waiting(
                    queue=q.name,
                    uniqueid=uid,
                    caller=msg.get("CallerIDNum", ""),
                    joined_at=now - wait,
                    position=int(msg.get("Position", "0") or 0),
                )
        self.synced_servers.add(server)

    def dump_server(self, server: str) -> dict[str, Any]:
        """One server's queues, members and waiting callers as plain data (JSON), for the processes
        that do not consume its AMI events (load_server)."""
        return {
            "synced": server in self.synced_servers,
            "queues": [
                {
                    "name": q.name,
                    "members": [asdict(m) for m in q.members.values()],
                    "waiting": [asdict(w) for w in q.waiting.values()],
                }
                for q in sorted(self.queues.values(), key=lambda q: q.name)
                if q.server == server
            ],
        }

    def load_server(self, server: str, data: dict[str, Any]) -> None:
        """Replaces one server's queues with a dump_server of another process's state."""
        for n in [n for n, q in self.queues.items() if q.server == server]:
            del self.queues[n]
        for qd in data.get("queues", []):
            q = self.queue(qd["name"], server)
            for md in qd.get("members", []):
                q.members[md["interface"]] = Member(**md)
            for wd in qd.get("waiting", []):
                q.waiting[wd["uniqueid"]] = Waiting(**wd)
        if data.get("synced"):
            self.synced_servers.add(server)
        else:
            self.synced_servers.discard(server)

    def snapshot(self, queues: set[str] | None = None, now: float | None = None) -> dict[str, Any]:
        now = now or time.time()
        out = []
        for q in sorted(self.queues.values(), key=lambda q: q.name):
            if queues is not None and q.name not in queues:
                continue
            waits = [now - w.joined_at for w in q.waiting.values()]
            out.append(
                {
                    "name": q.name,
                    "server": q.server,
                    "waiting": len(q.waiting),
                    "longest_wait_s": round(max(waits), 1) if waits else 0,
                    "callers": [
                        {**asdict(w), "wait_s": round(now - w.joined_at, 1)}
                        for w in sorted(q.waiting.values(), key=lambda w: w.joined_at)
                    ],
                    "members": [
                        {**asdict(m), "in_state_s": round(now - m.since, 1)}
                        for m in sorted(q.members.values(), key=lambda m: m.name)
                    ],
                }
            )
        return {"queues": out, "at": now}
