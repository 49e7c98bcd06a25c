"""Agents' skills with levels (坐席技能): an administrator sets them; they become member penalties in
the skill queues (callflow.skills), at once when the agent is signed in, else at the next sign-in."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.models import AgentSession
from app.agents.service import AgentError, _ami, conn_for, interface_of, penalty_action, wanted
from app.auth.models import Role, User
from callflow import skills

if TYPE_CHECKING:
    from app.runtime import Runtime

log = logging.getLogger(__name__)


def groups(rt: Runtime) -> list[dict[str, Any]]:
    """The configured skill groups, for the administrators' page."""
    routed = set(rt.config.routed_skills)
    return [
        {"code": g.code, "name": g.name, "kind": g.kind, "routed": g.code in routed}
        for g in rt.config.skills.groups
    ]


async def set_skills(rt: Runtime, session: AsyncSession, user: User, raw: dict[str, Any]) -> dict[str, int]:
    """Store an agent's skills (flushed, not committed) and apply the penalties if signed in."""
    if user.role is not Role.agent:
        raise AgentError("只有坐席可以设置技能", 409)
    try:
        levels = skills.parse_levels(raw, rt.config.skills)
    except skills.SkillConfigError as e:
        raise AgentError(str(e), 422) from e
    user.skills = skills.encode(levels) or None
    row = await session.get(AgentSession, user.id)
    if row is not None and row.logged_in and user.sip_endpoint:
        conn = conn_for(rt, user.platform)
        iface = interface_of(user)
        for q, penalty in wanted(rt, user.skills, row.queue_list).items():
            if skills.split_queue(q)[1]:
                await _ami(conn, penalty_action(q, iface, penalty))
    return levels
