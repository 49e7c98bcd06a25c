"""One generic signed intake API for Weibo, the province's app and any other app:

    POST /api/intake/apps/{app_id}/requests
    X-Hotline-Timestamp: <unix seconds>           (within 5 minutes of ours)
    X-Hotline-Signature: <hex HMAC-SHA256(secret, timestamp + "." + body)>
    {"id": "<the app's message id>", "user": "<the app's user id>", "text": "...", "phone": "...",
     "place": "...", "type": "complaint", "category_code": "0102"}

Answers 201 {"number", "created"}; the same ``id`` again answers the same case (apps retry). A wrong
or missing signature, an unknown app or a stale timestamp: 403, logged, nothing stored."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Request
from pydantic import BaseModel, Field, ValidationError

from app.cases.context import of_runtime
from app.cases.service import CaseError
from app.deps import HubDep, SessionDep
from app.events import commit_and_publish
from app.intake.service import Inbound, receive
from app.runtime import Runtime, get_runtime
from app.webhooks import flood

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/intake/apps", tags=["webhooks"])
RT = Annotated[Runtime, Depends(get_runtime)]
MAX_BODY = 64 * 1024
MAX_SKEW_S = 300


class AppRequest(BaseModel):
    id: str = Field(min_length=1, max_length=128)
    user: str = Field(min_length=1, max_length=128)
    text: str = Field(min_length=1, max_length=5000)
    phone: str | None = Field(default=None, max_length=32)
    name: str | None = Field(default=None, max_length=64)
    place: str | None = Field(default=None, max_length=200)
    type: Literal["consultation", "help", "suggestion", "complaint", "report", "praise"] = "help"
    category_code: str | None = Field(default=None, max_length=16)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


@router.post("/{app_id}/requests", status_code=201)
async def app_request(
    app_id: str,
    request: Request,
    session: SessionDep,
    hub: HubDep,
    rt: RT,
    x_hotline_timestamp: Annotated[str, Header(max_length=20)] = "",
    x_hotline_signature: Annotated[str, Header(max_length=128)] = "",
) -> dict[str, Any]:
    app = next((a for a in rt.settings.intake_apps if a.id == app_id), None)
    body = await request.body()
    if len(body) > MAX_BODY:
        raise HTTPException(413, f"body too large (at most {MAX_BODY} bytes)")
    ts = x_hotline_timestamp
    fresh = ts.isdigit() and abs(time.time() - int(ts)) <= MAX_SKEW_S
    if (
        app is None
        or not fresh
        or not hmac.compare_digest(
            sign(app.secret, ts, body).encode("utf-8", "surrogatepass"),
            x_hotline_signature.encode("utf-8", "surrogatepass"),
        )
    ):
        log.warning(
            "intake app %r: refused a request (unknown app, stale timestamp or bad signature)", app_id[:32]
        )
        raise HTTPException(403, "unknown app, stale timestamp or bad signature")
    try:
        data = AppRequest.model_validate(json.loads(body))
    except (ValueError, ValidationError) as e:
        raise HTTPException(422, f"bad request body: {str(e)[:500]}") from None
    wait = await flood.refused(rt, app.channel, f"{app.id}:{data.user}")
    if wait is not None:
        raise HTTPException(429, "too many requests from this user", headers={"Retry-After": str(int(wait) + 1)})
    ctx = of_runtime(rt)
    if data.category_code and data.category_code not in ctx.rules.category_names():
        raise HTTPException(422, f"unknown category {data.category_code!r}")
    inbound = Inbound(
        channel=app.channel, external_id=f"{app.id}:{data.id}", sender=f"{app.id}:{data.user}",
        phone=data.phone, name=data.name, text=data.text, place=data.place, type=data.type,
        category_code=data.category_code,
    )  # fmt: skip
    try:
        got = await receive(session, inbound, ctx=ctx)
    except CaseError as e:
        raise HTTPException(e.status, str(e)) from None
    await commit_and_publish(session, hub, got.events)
    return {"number": got.case.number if got.case else None, "created": got.created}
