"""The resync after an AMI (re)login must not wipe what happened while Asterisk was answering.

Asterisk answers QueueStatus with a snapshot; an agent who signs in while the answer is on its way
produces a QueueMemberAdded event that reaches the consumer before the answer completes. The
snapshot (taken before the sign-in) must not erase that member: it is what made the agent desktop
stay at 未签入 after 签入 (seen in CI as test_desktop_screenpop's login timing out).
The connection here is a scripted stand-in for AMI; the database and consumer are the real ones."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from app.telephony.lifecycle import TELEPHONY
from tests.conftest import make_settings, running_app
from tests.integration.test_agents_desktop import member_event


@dataclass
class _Server:
    name: str = "main"
    cdr_csv: Any = None


@dataclass
class ScriptedAmi:
    """Feeds `during` to the consumer while the QueueStatus answer is 'on the wire'."""

    consumer: Any
    during: list[dict[str, str]]
    snapshot: list[dict[str, str]]
    name: str = "main"
    server: _Server = field(default_factory=_Server)
    connected: bool = True

    async def action(self, action: dict[str, Any], **_kw: Any) -> list[dict[str, str]]:
        if action["Action"] == "QueueStatus":
            for ev in self.during:
                self.consumer.feed(self.name, ev)
            await asyncio.sleep(0.05)  # the consumer runs meanwhile and sees the event first
            return self.snapshot
        return [{"Response": "Success", "EventList": "start"}, {"Event": "CoreShowChannelsComplete"}]


QUEUE_ONLY = [
    {"Response": "Success", "EventList": "start"},
    {"Event": "QueueParams", "Queue": "q-dali", "Calls": "0"},
    {"Event": "QueueStatusComplete"},
]


async def test_a_member_added_while_queuestatus_is_answered_survives_the_resync(tmp_path, sqlite_url):
    async with running_app(make_settings(tmp_path, sqlite_url)) as (app, _client):
        tel = app.state.runtime.require(TELEPHONY)
        consumer = tel.consumer
        added = member_event("li.dali", "PJSIP/agent-1001")
        await consumer.resync(ScriptedAmi(consumer, during=[added], snapshot=QUEUE_ONLY))
        await consumer.drained()
        members = tel.state.queues["q-dali"].members
        assert list(members) == ["PJSIP/agent-1001"], "the snapshot wiped a member who signed in meanwhile"


async def test_the_snapshot_still_replaces_what_events_before_it_left(tmp_path, sqlite_url):
    """A member Asterisk no longer has (removed while disconnected) is gone after the resync."""
    async with running_app(make_settings(tmp_path, sqlite_url)) as (app, _client):
        tel = app.state.runtime.require(TELEPHONY)
        consumer = tel.consumer
        consumer.feed("main", member_event("gone", "PJSIP/agent-1009"))
        await consumer.drained()
        assert "PJSIP/agent-1009" in tel.state.queues["q-dali"].members
        await consumer.resync(ScriptedAmi(consumer, during=[], snapshot=QUEUE_ONLY))
        await consumer.drained()
        assert tel.state.queues["q-dali"].members == {}
        assert "main" in tel.state.synced_servers


async def test_a_failed_snapshot_releases_the_consumer(tmp_path, sqlite_url):
    from app.telephony.ami import AmiError

    class Down(ScriptedAmi):
        connected = False

        async def action(self, action: dict[str, Any], **_kw: Any) -> list[dict[str, str]]:
            raise AmiError("AMI main is not connected")

    async with running_app(make_settings(tmp_path, sqlite_url)) as (app, _client):
        tel = app.state.runtime.require(TELEPHONY)
        consumer = tel.consumer
        await consumer.resync(Down(consumer, during=[], snapshot=[]))
        consumer.feed("main", member_event("li.dali", "PJSIP/agent-1001"))
        await consumer.drained(timeout=5)
        assert "PJSIP/agent-1001" in tel.state.queues["q-dali"].members
