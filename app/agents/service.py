"""Agent sessions driven through AMI. What an agent *is* (logged in, paused, ringing, talking) is read
from TelephonyState, which only Asterisk's own events and QueueStatus answers change; this module
only asks Asterisk for changes (QueueAdd / QueueRemove / QueuePause) and remembers what was asked,
so it can be asked again after Asterisk restarts."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.models import AgentSession
from app.auth.models import User
from app.telephony.ami import AmiConnection, AmiError
from app.telephony.lifecycle import TELEPHONY
from app.telephony.state import WRAPUP_REASON, Member, TelephonyState
from callflow import skills

if TYPE_CHECKING:
    from app.runtime import Runtime

log = logging.getLogger(__name__)

WRAPUP = WRAPUP_REASON
PAUSE_REASONS = ("休息", "培训", "会议", "用餐", "其他")
ON_CALL = {"in_use", "busy", "on_hold"}

# desktop states, with their Chinese labels
LABELS = {
    "logged_out": "未签入",
    "available": "空闲",
    "ringing": "振铃",
    "on_call": "通话中",
    "wrapup": "话后处理",
    "paused": "小休",
    "offline": "话机未注册",
}


class AgentError(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def interface_of(user: User) -> str:
    if not user.sip_endpoint:
        raise AgentError("该用户没有配置话机 (sip_endpoint)", 409)
    return f"PJSIP/{user.sip_endpoint}"


def queues_in(rt: Runtime, platform: str | None) -> set[str]:
    """The queues of a platform with their skill queues (all for None; none for an unknown platform)."""
    base = set(rt.config.all_queues()) if platform is None else set(platform_queues(rt, platform))
    return base | {skills.skill_queue(q, s) for q in base for s in rt.config.routed_skills}


def platform_queues(rt: Runtime, platform: str) -> list[str]:
    try:
        return list(rt.config.platform(platform).queues)
    except KeyError:
        return []


def members_of(state: TelephonyState, interface: str) -> list[Member]:
    return [q.members[interface] for q in state.queues.values() if interface in q.members]


def derive(members: list[Member]) -> dict[str, Any]:
    """One desktop state from the agent's queue memberships (device state is the same in each)."""
    if not members:
        return {
            "state": "logged_out",
            "label": LABELS["logged_out"],
            "reason": "",
            "since": None,
            "queues": [],
        }
    m = max(members, key=lambda m: m.since)
    status = m.status
    if status in ("ringing",):
        state = "ringing"
    elif status in ON_CALL:
        state = "on_call"
    elif m.paused:
        state = "wrapup" if m.reason == WRAPUP else "paused"
    elif status in ("unavailable", "invalid"):
        state = "offline"
    else:
        state = "available"
    label = LABELS[state] + (f"（{m.reason}）" if state == "paused" and m.reason else "")
    return {
        "state": state,
        "label": label,
        "reason": m.reason if m.paused else "",
        "since": m.since,
        "paused": m.paused,
        "device": status,
        "queues": sorted(x.queue for x in members),
    }


def agent_view(state: TelephonyState, user: User) -> dict[str, Any]:
    iface = f"PJSIP/{user.sip_endpoint}" if user.sip_endpoint else ""
    by_iface = members_of(state, iface) if iface else []
    by_name = [m for q in state.queues.values() for m in q.members.values() if m.name == user.username]
    members = by_iface or by_name
    return {
        "username": user.username,
        "display_name": user.display_name,
        "interface": iface,
        "platform": user.platform,
        **derive(members),
        "at": time.time(),
    }


def conn_for(rt: Runtime, platform: str) -> AmiConnection:
    tel = rt.get(TELEPHONY)
    if tel is None:
        raise AgentError("电话系统未运行", 503)
    try:
        return tel.connection_for(platform)
    except AmiError as e:
        raise AgentError(str(e), 503) from e


async def _session_row(session: AsyncSession, user: User) -> AgentSession:
    row = await session.get(AgentSession, user.id)
    if row is None:
        row = AgentSession(
            user_id=user.id,
            username=user.username,
            interface=interface_of(user),
            platform=user.platform,
            queues="",
            logged_in=False,
        )
        session.add(row)
    row.interface = interface_of(user)
    row.platform = user.platform
    return row


async def _ami(conn: AmiConnection, action: dict[str, Any]) -> None:
    try:
        await conn.action(action)
    except AmiError as e:
        msg = str(e)
        if "Unable to add interface: Already there" in msg or "Not there" in msg:
            return
        raise AgentError(f"Asterisk: {msg}", 502) from e


def add_action(queue: str, iface: str, name: str, paused: bool = False, penalty: int = 0) -> dict[str, Any]:
    return {
        "Action": "QueueAdd",
        "Queue": queue,
        "Interface": iface,
        "MemberName": name,
        "StateInterface": iface,
        "Penalty": str(penalty),
        "Paused": "true" if paused else "false",
    }


def penalty_action(queue: str, iface: str, penalty: int) -> dict[str, Any]:
    return {"Action": "QueuePenalty", "Queue": queue, "Interface": iface, "Penalty": str(penalty)}


def wanted(rt: Runtime, user_skills: str | None, queues: list[str]) -> dict[str, int]:
    """Every queue (platform queues and their skill queues) an agent signed in to ``queues`` belongs
    to, with the member penalty of their skill level (callflow.skills)."""
    return skills.memberships(queues, skills.decode(user_skills), rt.config.routed_skills)


def pause_action(iface: str, paused: bool, reason: str = "") -> dict[str, Any]:
    action = {"Action": "QueuePause", "Interface": iface, "Paused": "true" if paused else "false"}
    if paused and reason:
        action["Reason"] = reason
    return action


async def login(rt: Runtime, session: AsyncSession, user: User, queues: list[str]) -> None:
    allowed = platform_queues(rt, user.platform)
    bad = [q for q in queues if q not in allowed]
    if bad or not queues:
        raise AgentError(f"队列不属于本平台: {', '.join(bad) or '（未选择队列）'}", 403 if bad else 400)
    iface = interface_of(user)
    conn = conn_for(rt, user.platform)
    row = await _session_row(session, user)
    current = {m.queue for m in members_of(rt.require(TELEPHONY).state, iface)}
    want = wanted(rt, user.skills, queues)
    for q, penalty in want.items():
        if q not in current:
            await _ami(conn, add_action(q, iface, user.username, penalty=penalty))
        elif penalty:
            await _ami(conn, penalty_action(q, iface, penalty))
    for q in current - set(want):
        await _ami(conn, {"Action": "QueueRemove", "Queue": q, "Interface": iface})
    row.queues = ",".join(queues)
    row.logged_in = True
    row.pause_reason = None


async def logout(rt: Runtime, session: AsyncSession, user: User) -> None:
    iface = interface_of(user)
    conn = conn_for(rt, user.platform)
    row = await _session_row(session, user)
    for m in members_of(rt.require(TELEPHONY).state, iface):
        await _ami(conn, {"Action": "QueueRemove", "Queue": m.queue, "Interface": iface})
    row.logged_in = False
    row.pause_reason = None


async def pause(rt: Runtime, session: AsyncSession, user: User, reason: str | None) -> None:
    """reason None = ready (unpause, also ends wrap-up early)."""
    iface = interface_of(user)
    if not members_of(rt.require(TELEPHONY).state, iface):
        raise AgentError("请先签入队列", 409)
    conn = conn_for(rt, user.platform)
    await _ami(conn, pause_action(iface, reason is not None, reason or ""))
    row = await _session_row(session, user)
    row.pause_reason = reason if reason != WRAPUP else None


async def sessions_to_restore(session: AsyncSession) -> list[AgentSession]:
    return list(await session.scalars(select(AgentSession).where(AgentSession.logged_in.is_(True))))


async def restore(rt: Runtime, server: str) -> int:
    """After (re)connecting to a server: ask it again for the members our agents asked for."""
    tel = rt.require(TELEPHONY)
    conn = tel.connections.get(server)
    if conn is None:
        return 0
    async with rt.db.sessionmaker() as session:
        rows = await sessions_to_restore(session)
        levels = dict((await session.execute(select(User.id, User.skills))).tuples().all())
    n = 0
    for row in rows:
        if tel.connection_for(row.platform) is not conn:
            continue
        present = {m.queue for m in members_of(tel.state, row.interface)}
        want = wanted(rt, levels.get(row.user_id), row.queue_list)
        for q, penalty in want.items():
            if q in present:
                continue
            try:
                paused = bool(row.pause_reason)
                await conn.action(add_action(q, row.interface, row.username, paused=paused, penalty=penalty))
                n += 1
            except AmiError as e:
                log.warning("restoring %s in %s failed: %s", row.username, q, e)
        # the pause the agent asked for is re-applied wherever the member is not paused for it now
        # (also a member Asterisk kept or someone else re-added, unpaused, before we got here)
        shown = members_of(tel.state, row.interface)
        paused_as_asked = bool(shown) and all(m.paused and m.reason == row.pause_reason for m in shown)
        if row.pause_reason and (present != set(want) or not paused_as_asked):
            try:
                await conn.action(pause_action(row.interface, True, row.pause_reason))
            except AmiError as e:
                log.warning("restoring pause of %s failed: %s", row.username, e)
    if n:
        log.info("AMI %s: restored %d queue memberships", server, n)
    return n
