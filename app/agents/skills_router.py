"""Administrators set agents' skills with levels: GET /api/admin/skills (the groups),
PUT /api/admin/users/{username}/skills (the page 用户管理)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi import Path as PathParam
from pydantic import BaseModel, Field
from sqlalchemy import select

from app.agents import skills
from app.agents.service import AgentError
from app.auth.deps import require_roles
from app.auth.models import Role, User
from app.deps import SessionDep

router = APIRouter(tags=["admin"])
Admin = Annotated[User, Depends(require_roles(Role.admin))]
Username = Annotated[str, PathParam(min_length=1, max_length=64)]


class SkillsIn(BaseModel):
    # {skill code: level 1-5}; the codes and levels are checked against the configuration
    skills: dict[Annotated[str, Field(max_length=16)], Any] = Field(max_length=32)


@router.get("/api/admin/skills")
async def skill_groups(request: Request, _: Admin) -> dict[str, Any]:
    rt = request.app.state.runtime
    return {"groups": skills.groups(rt), "fallback_after_s": rt.config.skills.fallback_after_s}


@router.put("/api/admin/users/{username}/skills")
async def set_skills(
    username: Username, data: SkillsIn, request: Request, session: SessionDep, _: Admin
) -> dict[str, Any]:
    user = await session.scalar(select(User).where(User.username == username))
    if user is None:
        raise HTTPException(404, f"没有用户 {username!r}")
    try:
        levels = await skills.set_skills(request.app.state.runtime, session, user, data.skills)
    except AgentError as e:
        raise HTTPException(e.status, str(e)) from e
    await session.commit()
    return {"username": user.username, "skills": levels}
