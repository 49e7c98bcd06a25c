"""GET /health: database, AMI connections, FastAGI listener, calendar coverage, other components."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Request
from sqlalchemy import text

from app.auth.deps import require_roles
from app.auth.models import Role, User
from app.events import CALENDAR_RELOADED, Event
from app.telephony.lifecycle import TELEPHONY

log = logging.getLogger(__name__)
router = APIRouter(tags=["health"])

# components may register extra checks: name -> callable(runtime) -> (ok, detail)
EXTRA_CHECKS: dict[str, Any] = {}


CHECK_TIMEOUT_S = 2.0  # /health answers within about this, whatever the database does
_in_flight: dict[tuple[int, str], asyncio.Task[Any]] = {}


async def _bounded(rt: Any, name: str, make: Callable[[], Awaitable[Any]]) -> Any:
    """Runs a check as its own task and waits at most CHECK_TIMEOUT_S for it. The task is never
    cancelled (cancelling a query stuck behind a SQLite lock waits for the lock itself); while it still
    runs, later health requests wait on the same task instead of piling up connections behind the lock."""
    key = (id(rt), name)
    task = _in_flight.get(key)
    if task is None or task.done():
        task = asyncio.ensure_future(make())
        task.add_done_callback(lambda t: t.cancelled() or t.exception())  # retrieved: no warning later
        _in_flight[key] = task
    async with asyncio.timeout(CHECK_TIMEOUT_S):
        return await asyncio.shield(task)


async def _probe(rt: Any) -> None:
    # a writing session: on SQLite it takes the write lock (BEGIN IMMEDIATE), so a locked database shows
    async with rt.db.sessionmaker() as session:
        await session.execute(text("SELECT 1"))


async def _database(rt: Any) -> dict[str, Any]:
    try:
        await _bounded(rt, "database", lambda: _probe(rt))
    except TimeoutError:
        return {"ok": False, "error": f"no answer within {CHECK_TIMEOUT_S:g} s (database locked or overloaded)"}
    except Exception as e:  # noqa: BLE001
        return {"ok": False, "error": str(e)}
    return {"ok": True, "backend": rt.db.engine.dialect.name}


async def _extra(rt: Any, name: str, check: Callable[[Any], Awaitable[Any]]) -> tuple[bool, Any]:
    try:
        ok, detail = await _bounded(rt, name, lambda: check(rt))
    except TimeoutError:
        return False, {"reason": f"no answer within {CHECK_TIMEOUT_S:g} s"}
    return bool(ok), detail


@router.get("/health")
async def health(request: Request) -> dict[str, Any]:
    rt = request.app.state.runtime
    out: dict[str, Any] = {"status": "ok", "warnings": [], "process": {"pid": os.getpid()}}
    if rt.hub.bus_stats is not None:  # several processes: the message bus between them
        out["bus"] = rt.hub.bus_stats()
    names = list(EXTRA_CHECKS)
    # every check at once: a locked database costs one bounded wait, not one per check
    database, *extras = await asyncio.gather(_database(rt), *(_extra(rt, n, EXTRA_CHECKS[n]) for n in names))
    out["database"] = database
    if not out["database"]["ok"]:
        out["status"] = "degraded"
    tel = rt.get(TELEPHONY)
    if tel is not None:
        th = tel.health()
        out.update(th)
        if rt.settings.ami_enabled and not all(c["connected"] for c in th["ami"].values()):
            out["status"] = "degraded"
        if rt.settings.agi_enabled and not th["agi"]["listening"]:
            out["status"] = "degraded"
    today = datetime.now(rt.config.zone).date()
    cal = rt.config.calendar
    warnings = cal.coverage_warnings(today)
    out["calendar"] = {"covered_years": sorted(cal.covered_years()), "ok": not warnings, "warnings": warnings}
    for w in warnings:
        log.warning("calendar: %s", w)
    out["warnings"].extend(warnings)
    for name, (ok, detail) in zip(names, extras, strict=True):
        out[name] = detail
        if not ok:
            out["warnings"].append(
                f"{name}: {detail.get('reason', 'not ok') if isinstance(detail, dict) else detail}"
            )
    if out["warnings"] and out["status"] == "ok":
        out["status"] = "warning"
    return out


@router.post("/api/admin/calendar", tags=["admin"])
async def upload_calendar(
    request: Request,
    _: Annotated[User, Depends(require_roles(Role.admin))],
    yaml_text: Annotated[str, Body(media_type="application/yaml")],
) -> dict[str, Any]:
    """An administrator loads next year's holiday file (format: callflow/holidays/README.md).
    Validated before it is written; routing and deadlines use it at once."""
    rt = request.app.state.runtime
    if len(yaml_text) > 64 * 1024:
        raise HTTPException(413, "日历文件过大（最多 64 KiB）")
    try:
        saved = rt.config.calendar.save_admin_file(yaml_text, rt.settings.holiday_dir)
    except ValueError as e:
        raise HTTPException(422, f"日历文件不被接受：{e}") from e
    # every process reloads (this one before the answer): routing and deadlines use it at once
    await rt.hub.publish(Event(CALENDAR_RELOADED, {"file": saved.name}))
    return {"saved": saved.name, "covered_years": sorted(rt.config.calendar.covered_years())}
