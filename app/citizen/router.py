"""The citizens' web page and its API (no login; rate-limited per address; a case is shown only to
whoever gives both its number and its citizen's phone, with nothing of anyone else)."""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from sqlalchemy import select

from app.cases import events as case_events
from app.cases import workflow as wf
from app.cases.context import CaseContext, of_runtime
from app.cases.masking import normalise_phone
from app.cases.models import Case, CaseEvent
from app.cases.service import CaseError, IllegalTransition, record_rating
from app.citizen.uploads import MAX_BYTES, UploadRefused, sniff, store
from app.deps import HubDep, SessionDep
from app.events import commit_and_publish
from app.intake.models import IntakeAttachment
from app.intake.service import Inbound, receive
from app.outbox.service import enqueue
from app.runtime import Runtime, get_runtime
from app.web.router import page

log = logging.getLogger(__name__)
router = APIRouter(tags=["citizen"])
HERE = Path(__file__).resolve().parent
RT = Annotated[Runtime, Depends(get_runtime)]
PHONE = re.compile(r"^(1[3-9]\d{9}|0\d{9,11})$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[A-Za-z]{2,}$")
TYPES = {
    "consultation": "咨询",
    "help": "求助",
    "complaint": "投诉",
    "report": "举报",
    "suggestion": "建议",
    "praise": "表扬",
}
WINDOW_S = 600.0  # the limits per window: settings.citizen_submit_limit / citizen_track_limit
ANSWER_SHOWN = {wf.ANSWERED, wf.REPLIED, wf.FED_BACK, wf.VISITED, wf.CLOSED, wf.REOPENED}


async def _limit(request: Request, rt: Runtime, what: str, limit: int) -> None:
    """Per client address and window, shared by every process (app.flood)."""
    addr = request.client.host if request.client else "?"
    wait = await rt.flood.hit(f"citizen:{what}:{addr}", limit, WINDOW_S)
    if wait is not None:
        log.warning("citizen: %s flood from %s refused", what, addr)
        raise HTTPException(
            429,
            f"操作过于频繁，请 {int(wait) // 60 + 1} 分钟后再试",
            headers={"Retry-After": str(int(wait) + 1)},
        )


def _phone(value: str) -> str:
    phone = normalise_phone(value.strip())
    if not phone or not PHONE.match(phone):
        raise HTTPException(422, "请填写正确的手机号码或固定电话（含区号）")
    return phone


@router.get("/citizen", include_in_schema=False)
async def citizen_page() -> FileResponse:
    return page(HERE / "templates" / "citizen.html")


@router.get("/api/citizen/options")
async def options(rt: RT) -> dict[str, Any]:
    ctx = of_runtime(rt)
    cats = [{"code": s.code, "name": f"{t.name}/{s.name}"} for t in ctx.rules.categories for s in t.children]
    return {"types": TYPES, "categories": cats, "max_upload_bytes": MAX_BYTES}


@router.post("/api/citizen/requests", status_code=201)
async def submit(
    request: Request,
    session: SessionDep,
    hub: HubDep,
    rt: RT,
    text: Annotated[str, Form(min_length=5, max_length=2000)],
    phone: Annotated[str, Form(max_length=32)],
    type: Annotated[str, Form(max_length=16)] = "help",
    category_code: Annotated[str, Form(max_length=16)] = "",
    place: Annotated[str, Form(max_length=200)] = "",
    name: Annotated[str, Form(max_length=64)] = "",
    email: Annotated[str, Form(max_length=254)] = "",
    submission_id: Annotated[str, Form(max_length=64)] = "",
    website: Annotated[str, Form(max_length=200)] = "",  # a field people never see: only robots fill it
    file: Annotated[UploadFile | None, File()] = None,
) -> dict[str, Any]:
    await _limit(request, rt, "submit", rt.settings.citizen_submit_limit)
    if website:
        log.warning("citizen: robot submission refused (hidden field filled)")
        raise HTTPException(422, "提交失败，请刷新页面后重试")
    ctx: CaseContext = of_runtime(rt)
    if type not in TYPES:
        raise HTTPException(422, "请选择诉求类型")
    if category_code and category_code not in ctx.rules.category_names():
        raise HTTPException(422, "请选择有效的分类")
    email = email.strip()
    if email and not EMAIL.match(email):
        raise HTTPException(422, "电子邮箱格式不正确")
    citizen = _phone(phone)
    data = None
    if file is not None and file.filename:
        data = await file.read(MAX_BYTES + 1)
        try:
            if len(data) > MAX_BYTES:
                raise UploadRefused(f"附件不能超过 {MAX_BYTES // (1024 * 1024)} MB")
            sniff(data)
        except UploadRefused as e:
            raise HTTPException(422, str(e)) from None
    inbound = Inbound(
        channel="web", external_id=f"web:{submission_id or uuid.uuid4().hex}", sender=citizen, phone=citizen,
        text=text.strip(), place=place.strip() or None, type=type, category_code=category_code or None,
        name=name.strip() or None,
    )  # fmt: skip
    try:
        got = await receive(session, inbound, ctx=ctx)
    except CaseError as e:
        raise HTTPException(e.status, str(e)) from None
    case = got.case
    assert case is not None
    if data is not None and not got.repeated:
        path, ctype, sha = await asyncio.to_thread(store, rt.settings.var_dir / "attachments", case.id, data)
        session.add(IntakeAttachment(
            intake_id=got.message.id, case_id=case.id, filename=(file.filename or "")[:255] if file else "",
            content_type=ctype, size=len(data), sha256=sha, path=str(path),
        ))  # fmt: skip
    if email and got.created:
        enqueue(
            session, channel="email", recipient=email, case_id=case.id, kind="receipt",
            subject=f"【12345】您的诉求已受理，工单号 {case.number}",
            body=f"您好：\n\n您通过网站提交的诉求已受理，工单号 {case.number}。\n"
            f"可在 12345 网站凭工单号和手机号查询办理进度。\n\n（回复本邮件可补充情况，请保留标题中的工单号。）",
        )  # fmt: skip
    await commit_and_publish(session, hub, got.events)
    return {
        "number": case.number,
        "created": got.created,
        "status_label": wf.LABELS.get(case.status, case.status),
    }


class TrackIn(BaseModel):
    number: str = Field(min_length=3, max_length=32)
    phone: str = Field(min_length=3, max_length=32)


class RateIn(TrackIn):
    rating: int = Field(ge=1, le=3)
    note: str | None = Field(default=None, max_length=500)


async def _own_case(session: Any, data: TrackIn) -> Case:
    phone = normalise_phone(data.phone.strip())
    case = await session.scalar(select(Case).where(Case.number == data.number.strip()))
    if case is None or not phone or case.citizen_phone != phone:
        raise HTTPException(404, "工单号或手机号不正确")  # the same answer: numbers cannot be probed
    return case


def _view(case: Case, events: list[CaseEvent], ctx: CaseContext) -> dict[str, Any]:
    answer = case.answer if case.status in ANSWER_SHOWN else None
    return {
        "number": case.number,
        "status": case.status,
        "status_label": wf.LABELS.get(case.status, case.status),
        "type": TYPES.get(case.type, case.type),
        "category": ctx.rules.category_names().get(case.category_code or ""),
        "summary": case.summary,
        "created_at": case.created_at.isoformat(),
        "answer": answer,
        "rating": case.rating,
        "can_rate": case.status == wf.FED_BACK,
        "steps": [
            {"at": e.at.isoformat(), "label": "受理" if e.action == "create" else wf.label_of(e.action)}
            for e in events
        ],
    }


@router.post("/api/citizen/track")
async def track(data: TrackIn, request: Request, session: SessionDep, rt: RT) -> dict[str, Any]:
    await _limit(request, rt, "track", rt.settings.citizen_track_limit)
    case = await _own_case(session, data)
    events = list(
        await session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id))
    )
    return _view(case, events, of_runtime(rt))


@router.post("/api/citizen/rate")
async def rate(data: RateIn, request: Request, session: SessionDep, hub: HubDep, rt: RT) -> dict[str, Any]:
    await _limit(request, rt, "track", rt.settings.citizen_track_limit)
    case = await _own_case(session, data)
    if case.status != wf.FED_BACK:
        raise HTTPException(409, "该工单当前不能评价（办结并反馈后才能评价）")
    try:
        evs = await record_rating(session, case, data.rating, None, data.note, ctx=of_runtime(rt))
    except (CaseError, IllegalTransition) as e:
        raise HTTPException(409, str(e)) from None
    await commit_and_publish(session, hub, case_events.of_audits(evs, case))
    return {
        "number": case.number,
        "rating": case.rating,
        "status_label": wf.LABELS.get(case.status, case.status),
    }
