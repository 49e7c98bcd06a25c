"""Places a simulated inbound call through the real Asterisk and reports what Asterisk did with it,
from Asterisk's own events (UserEvent HotlineRoute, QueueCallerJoin), not from a prediction."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from app.calls.models import TEST_CALL_PREFIX
from app.settings import AsteriskServer
from app.telephony.ami import AmiConnection, AmiError


@dataclass
class CallResult:
    uniqueid: str
    linkedid: str
    caller: str
    prefecture: str | None = None
    platform: str | None = None
    route: str | None = None
    queue: str | None = None
    mailbox: str | None = None
    source: str | None = None  # the source hotline the dialplan reports (并号)
    notice: str | None = None  # the notice prompt Asterisk played, if any
    agi_ms: float | None = None
    setup_ms: float | None = None
    channel: str | None = None
    events: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def reached(self) -> bool:
        return (self.route in ("queue", "fallback") and self.queue is not None) or (
            self.route == "voicemail" and self.mailbox is not None
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "uniqueid": self.uniqueid, "linkedid": self.linkedid, "caller": self.caller,
            "prefecture": self.prefecture, "platform": self.platform, "route": self.route, "queue": self.queue,
            "mailbox": self.mailbox, "source": self.source, "notice": self.notice, "agi_ms": self.agi_ms, "setup_ms": self.setup_ms,
            "reached": self.reached, "error": self.error,
        }


def originate_action(caller: str, *, trunk: str | None, channel_id: str, other_id: str,
                     hold_s: int = 30, audio: str | None = None, exten: str = "12345",
                     context: str | None = None, record: str | None = None) -> dict[str, Any]:
    ctx = context or (f"trunk-in-{trunk}" if trunk else "hotline-inbound")
    variables = [f"SIM_HOLD={hold_s}"]
    if audio:
        variables.append(f"SIM_AUDIO={audio}")
    if record:
        variables.append(f"SIM_RECORD={record}")
    return {
        "Action": "Originate",
        "Channel": f"Local/{exten}@{ctx}/n",
        "Context": "hotline-sim-citizen", "Exten": "0", "Priority": "1",
        "CallerID": f'"" <{caller}>' if caller else "",
        "ChannelId": channel_id, "OtherChannelId": other_id,
        "Variable": ",".join(variables), "Timeout": "30000", "Async": "true",
    }


class CallWatcher:
    """Collects the events of one simulated call."""

    def __init__(self, result: CallResult, need_queue: bool = True) -> None:
        self.r = result
        self.done = asyncio.Event()
        self.t0 = time.perf_counter()

    def feed(self, _server: str, ev: dict[str, str]) -> None:
        r = self.r
        if r.uniqueid not in (ev.get("Uniqueid"), ev.get("Linkedid")) and r.linkedid != ev.get("Linkedid"):
            return
        name = ev.get("Event", "")
        r.events.append(name if name != "UserEvent" else f"UserEvent:{ev.get('UserEvent')}")
        if name == "UserEvent" and ev.get("UserEvent") == "HotlineRoute":
            r.route = ev.get("Route") or None
            r.platform = ev.get("Platform") or None
            r.prefecture = ev.get("Prefecture") or None
            r.source = ev.get("Source") or None
            r.channel = ev.get("Channel")
            try:
                r.agi_ms = round(float(ev.get("AgiMs", "")), 2)
            except ValueError:
                r.agi_ms = None
            if r.route == "voicemail":
                r.mailbox = ev.get("Mailbox") or None
                r.setup_ms = round((time.perf_counter() - self.t0) * 1000, 2)
                self.done.set()
        elif name == "UserEvent" and ev.get("UserEvent") == "HotlineNotice":
            r.notice = ev.get("Prompt") or None
        elif name == "QueueCallerJoin" and ev.get("Uniqueid") == r.uniqueid:
            r.queue = ev.get("Queue")
            r.channel = ev.get("Channel")
            r.setup_ms = round((time.perf_counter() - self.t0) * 1000, 2)
            self.done.set()
        elif name == "Hangup" and ev.get("Uniqueid") == r.uniqueid and not self.done.is_set():
            r.error = r.error or f"call ended before reaching a queue or mailbox ({ev.get('Cause-txt')})"
            self.done.set()


async def place_call(server: AsteriskServer, caller: str, *, trunk: str | None = None, timeout: float = 20.0,
                     hangup: bool = True, audio: str | None = None, hold_s: int = 30,
                     conn: AmiConnection | None = None, dialled: str = "12345",
                     as_citizen: bool = False, record: str | None = None) -> CallResult:
    """A simulated call is a test, kept out of every figure (its channel ids start with TEST_CALL_PREFIX);
    ``as_citizen`` places it as a citizen's call instead (system tests of the figures themselves)."""
    prefix = "citizen-" if as_citizen else TEST_CALL_PREFIX
    channel_id = f"{prefix}{uuid.uuid4().hex[:12]}"
    other_id = f"{channel_id}-in"
    result = CallResult(uniqueid=other_id, linkedid=channel_id, caller=caller)
    watcher = CallWatcher(result)
    own = conn is None
    if conn is None:
        conn = AmiConnection(server, on_event=watcher.feed)
        await conn.start()
        if not await conn.wait_connected(5.0):
            await conn.close()
            result.error = f"cannot reach AMI at {server.ami_host}:{server.ami_port}"
            return result
    else:
        conn.add_listener(watcher.feed)
    try:
        watcher.t0 = time.perf_counter()
        await conn.action(originate_action(caller, trunk=trunk, channel_id=channel_id, other_id=other_id,
                                           hold_s=hold_s, audio=audio, exten=dialled, record=record), timeout=5)
        try:
            async with asyncio.timeout(timeout):
                await watcher.done.wait()
        except TimeoutError:
            result.error = result.error or "timed out waiting for Asterisk to route the call"
        if hangup:
            try:
                if result.channel:
                    await conn.action({"Action": "Hangup", "Channel": result.channel}, timeout=3)
            except AmiError:
                pass
    except AmiError as e:
        result.error = str(e)
    finally:
        if own:
            await conn.close()
        else:
            conn.remove_listener(watcher.feed)
    return result
