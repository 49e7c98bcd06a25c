"""Open311 GeoReport v2, the writing half: ``POST requests`` (a client with an api_key files a service
request; it becomes a case of the platform its address names) and service definitions
(``GET services/{service_code}``). The read-only half (services list, requests) is app.public."""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form
from fastapi.responses import JSONResponse

from app.cases.context import of_runtime
from app.cases.service import CaseError
from app.deps import HubDep, SessionDep
from app.events import commit_and_publish
from app.intake.service import Inbound, receive
from app.runtime import Runtime, get_runtime

log = logging.getLogger(__name__)
OPEN311 = "/open311/v2"
router = APIRouter(prefix=OPEN311, tags=["public"])
RT = Annotated[Runtime, Depends(get_runtime)]


def _error(status: int, description: str) -> JSONResponse:
    return JSONResponse([{"code": status, "description": description}], status_code=status)


def _service_names(rt: Runtime) -> dict[str, str]:
    rules = of_runtime(rt).rules
    return {s.code: s.name for t in rules.categories for s in t.children}


@router.get("/services/{service_code}.json", response_model=None)
async def service_definition(service_code: str, rt: RT) -> dict[str, Any] | JSONResponse:
    if service_code not in _service_names(rt):
        return _error(404, f"no service {service_code}")
    return {"service_code": service_code, "attributes": []}  # no extra questions: description and place


def _key_ok(rt: Runtime, key: str) -> bool:
    digest = hashlib.sha256(key.encode()).digest()
    return any(
        hmac.compare_digest(digest, hashlib.sha256(k.encode()).digest()) for k in rt.settings.open311_api_keys
    )


@router.post("/requests.json", response_model=None)
async def post_request(
    session: SessionDep,
    hub: HubDep,
    rt: RT,
    api_key: Annotated[str, Form(max_length=128)] = "",
    service_code: Annotated[str, Form(max_length=16)] = "",
    description: Annotated[str, Form(max_length=4000)] = "",
    address_string: Annotated[str, Form(max_length=200)] = "",
    lat: Annotated[float | None, Form(ge=-90, le=90)] = None,
    long: Annotated[float | None, Form(ge=-180, le=180)] = None,
    phone: Annotated[str, Form(max_length=32)] = "",
    email: Annotated[str, Form(max_length=254)] = "",
    first_name: Annotated[str, Form(max_length=32)] = "",
    last_name: Annotated[str, Form(max_length=32)] = "",
    device_id: Annotated[str, Form(max_length=64)] = "",
) -> list[dict[str, Any]] | JSONResponse:
    if not api_key or not _key_ok(rt, api_key):
        log.warning("open311: POST requests with a missing or unknown api_key refused")
        return _error(403, "api_key missing or not valid")
    if service_code not in _service_names(rt):
        return _error(400, f"service_code {service_code!r} is not a service (see services.json)")
    if not (address_string or (lat is not None and long is not None)):
        return _error(400, "a location is required: address_string, or lat and long")
    if not description.strip():
        return _error(400, "description is required")
    place = address_string or f"{lat},{long}"
    sender = phone or email or device_id or f"open311:{hashlib.sha256(api_key.encode()).hexdigest()[:12]}"
    ext = hashlib.sha256("|".join((api_key, service_code, description, place, sender)).encode()).hexdigest()
    try:
        got = await receive(
            session,
            Inbound(
                channel="open311", external_id=ext, sender=sender, phone=phone or None, text=description.strip(),
                place=place, category_code=service_code, name=(last_name + first_name) or None,
            ),
            ctx=of_runtime(rt),
        )  # fmt: skip
    except CaseError as e:
        return _error(e.status, str(e))
    await commit_and_publish(session, hub, got.events)
    number = got.case.number if got.case else ""
    return [{"service_request_id": number, "service_notice": "已受理", "account_id": None}]
