"""commit_and_publish: the commit happens before any subscriber sees an event; a failed commit
publishes nothing."""

from __future__ import annotations

import asyncio

import pytest

from app.events import Event, EventHub, commit_and_publish


class _Session:
    def __init__(self, log: list[str], fail: bool = False) -> None:
        self.log, self.fail = log, fail

    async def commit(self) -> None:
        if self.fail:
            raise RuntimeError("commit refused")
        self.log.append("commit")


def test_commits_then_publishes_in_order() -> None:
    log: list[str] = []
    hub = EventHub()

    async def seen(ev: Event) -> None:
        log.append(ev.topic)

    hub.subscribe("case.", seen)
    events = [Event("case.created", {"number": "1"}), Event("case.transition", {"number": "1"})]
    asyncio.run(commit_and_publish(_Session(log), hub, events))
    assert log == ["commit", "case.created", "case.transition"]


def test_failed_commit_publishes_nothing() -> None:
    log: list[str] = []
    hub = EventHub()

    async def seen(ev: Event) -> None:
        log.append(ev.topic)

    hub.subscribe("", seen)
    with pytest.raises(RuntimeError):
        asyncio.run(commit_and_publish(_Session(log, fail=True), hub, [Event("case.created")]))
    assert log == []
