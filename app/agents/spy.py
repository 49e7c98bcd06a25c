"""Listen, whisper, barge (监听/密语/强插): a supervisor joins an agent's live call on their OWN phone.
The backend originates the supervisor's endpoint into [hotline-spy], which runs ChanSpy on the
agent's channel (asterisk_conf/dialplan.py). Only a supervisor who oversees the agent's platform may;
the supervisor needs a phone (users.sip_endpoint) and the agent a call."""

from __future__ import annotations

import logging
import re
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel

from app.agents import service
from app.agents.router import _agent_of  # the same scope rule as pause / sign-out
from app.auth.deps import require_roles
from app.auth.models import Role, User
from app.deps import SessionDep
from app.telephony.ami import AmiError
from app.telephony.lifecycle import TELEPHONY

log = logging.getLogger(__name__)
router = APIRouter(tags=["agents"])
Supervisor = Annotated[User, Depends(require_roles(Role.supervisor))]

Mode = Literal["listen", "whisper", "barge"]
# ChanSpy options: q no beep/name, S leave when nothing is left to spy on, E leave when the agent's
# call ends; w the supervisor talks to the agent only; B the supervisor talks to both sides
OPTIONS: dict[str, str] = {"listen": "qSE", "whisper": "qSEw", "barge": "qSEB"}
LABELS: dict[str, str] = {"listen": "监听", "whisper": "密语", "barge": "强插"}
ENDPOINT = re.compile(r"[A-Za-z0-9_.-]{1,64}")


class SpyIn(BaseModel):
    mode: Mode = "listen"


def spy_action(supervisor_endpoint: str, agent_endpoint: str, mode: str, agent: str) -> dict[str, Any]:
    """The Originate: the supervisor's phone rings; answered, it enters [hotline-spy] on the agent's
    channel (prefix "PJSIP/<endpoint>-": that phone's channels and no other endpoint's)."""
    for ep in (supervisor_endpoint, agent_endpoint):
        if not ENDPOINT.fullmatch(ep):
            raise ValueError(f"not a SIP endpoint name: {ep!r}")
    return {
        "Action": "Originate",
        "Channel": f"PJSIP/{supervisor_endpoint}",
        "Context": "hotline-spy",
        "Exten": "s",
        "Priority": "1",
        "CallerID": f'"{mode} {agent}" <{agent_endpoint}>',
        "ChannelId": f"hl-spy-{uuid.uuid4().hex[:12]}",
        "Variable": f"HOTLINE_SPY_TARGET=PJSIP/{agent_endpoint}-,HOTLINE_SPY_OPTS={OPTIONS[mode]}",
        "Timeout": "30000",
        "Async": "true",  # panoramisk: an Originate without it drops the connection (app.telephony.ami)
    }


@router.post("/api/agents/{username}/spy")
async def spy(
    username: str, data: SpyIn, request: Request, user: Supervisor, session: SessionDep
) -> dict[str, Any]:
    target = await _agent_of(session, user, username)
    rt = request.app.state.runtime
    if not user.sip_endpoint:
        raise HTTPException(409, "您的账号没有绑定话机，无法监听")
    if not target.sip_endpoint:
        raise HTTPException(409, f"坐席 {username} 没有绑定话机")
    tel = rt.get(TELEPHONY)
    view = service.agent_view(tel.state, target) if tel else {"state": "logged_out"}
    if view["state"] != "on_call":
        raise HTTPException(409, f"坐席 {username} 当前没有通话")
    try:
        action = spy_action(user.sip_endpoint, target.sip_endpoint, data.mode, target.username)
        conn = service.conn_for(rt, target.platform)
        await conn.action(action)
    except ValueError as e:
        raise HTTPException(409, str(e)) from e
    except service.AgentError as e:
        raise HTTPException(e.status, str(e)) from e
    except AmiError as e:
        raise HTTPException(503, f"呼叫您的话机失败：{e}") from e
    # who listened to whom, when: the audit of a sensitive act (no citizen's number in it)
    log.info("supervisor %s %s agent %s on %s", user.username, data.mode, target.username, user.sip_endpoint)
    return {
        "mode": data.mode,
        "label": LABELS[data.mode],
        "agent": target.username,
        "phone": user.sip_endpoint,
    }
