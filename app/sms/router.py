"""The gateway's calls into the service: inbound SMS (Kannel sms-service post-url) and delivery
reports (Kannel dlr-url). Both only from the gateway's addresses (settings.sms_gateway_addresses);
a delivery report also carries the token signed for its one message."""

from __future__ import annotations

import hashlib
import logging
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import PlainTextResponse

from app.cases.context import of_runtime
from app.cases.service import CaseError
from app.deps import HubDep, SessionDep, WriteSessionDep
from app.events import commit_and_publish
from app.intake.service import Inbound, receive
from app.outbox.service import apply_report
from app.runtime import Runtime, get_runtime
from app.sms.kannel import DLR_TYPES, dlr_token_ok

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/sms", tags=["sms"])
RT = Annotated[Runtime, Depends(get_runtime)]
MAX_SMS_BYTES = 8 * 1024  # a long (concatenated) SMS is far smaller


def _from_gateway(request: Request, rt: Runtime) -> None:
    host = request.client.host if request.client else ""
    if host not in rt.settings.sms_gateway_addresses:
        log.warning("sms: refused a gateway call from %s", host)
        raise HTTPException(403, "not an SMS gateway address")


def _charset(content_type: str) -> str:
    for part in content_type.split(";")[1:]:
        k, _, v = part.strip().partition("=")
        if k.lower() == "charset" and v:
            return v.strip('"').strip()
    return "utf-8"


@router.post("/inbound", response_class=PlainTextResponse)
async def inbound(
    request: Request,
    session: SessionDep,
    hub: HubDep,
    rt: RT,
    id: Annotated[str | None, Query(max_length=64)] = None,
) -> PlainTextResponse:
    """One SMS from a citizen: a case (or the same citizen's open case on the same matter). The answer
    is empty (Kannel's omit-empty): the receipt SMS goes through the outbox, with its delivery report."""
    _from_gateway(request, rt)
    body = await request.body()
    if len(body) > MAX_SMS_BYTES:
        raise HTTPException(413, f"SMS too long ({len(body)} bytes; at most {MAX_SMS_BYTES})")
    sender = (request.headers.get("X-Kannel-From") or "").strip()
    if not sender:
        raise HTTPException(422, "X-Kannel-From missing (set send-sender = true in the sms-service)")
    try:
        text = body.decode(_charset(request.headers.get("content-type", "")), errors="replace").strip()
    except LookupError:
        text = body.decode("utf-8", errors="replace").strip()
    if not text:
        raise HTTPException(422, "empty SMS")
    ext = (
        id
        or hashlib.sha256(f"{sender}|{request.headers.get('X-Kannel-Time', '')}|{text}".encode()).hexdigest()
    )
    try:
        got = await receive(
            session, Inbound(channel="sms", external_id=ext, sender=sender, phone=sender, text=text),
            ctx=of_runtime(rt),
        )  # fmt: skip
    except CaseError as e:
        raise HTTPException(e.status, str(e)) from None
    await commit_and_publish(session, hub, got.events)
    log.info(
        "sms: inbound %s → case %s (%s)", ext, got.case.number if got.case else None, got.message.outcome
    )
    return PlainTextResponse("")


@router.get("/dlr/{message_id}/{token}", response_class=PlainTextResponse)
async def delivery_report(
    message_id: int,
    token: str,
    request: Request,
    session: WriteSessionDep,  # Kannel reports by GET; this writes
    rt: RT,
    type: Annotated[int, Query(ge=0, le=255)],
    answer: Annotated[str, Query(max_length=500)] = "",
) -> PlainTextResponse:
    _from_gateway(request, rt)
    if not dlr_token_ok(rt.settings.sms_callback_secret, message_id, token):
        log.warning("sms: forged delivery report for outbox #%s refused", message_id)
        raise HTTPException(403, "bad delivery-report token")
    if type not in DLR_TYPES:
        raise HTTPException(422, f"unknown delivery-report type {type}")
    msg = await apply_report(session, message_id, DLR_TYPES[type], f"type {type} {answer}".strip())
    if msg is None:
        raise HTTPException(404, f"no outbox message {message_id}")
    await session.commit()
    return PlainTextResponse(msg.status)
