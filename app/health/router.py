"""GET /health: database, AMI connections, FastAGI listener, calendar coverage, other components."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Request
from sqlalchemy import text

from app.auth.deps import require_roles
from app.auth.models import Role, User

log = logging.getLogger(__name__)
router = APIRouter(tags=["health"])

# components may register extra checks: name -> callable(runtime) -> (ok, detail)
EXTRA_CHECKS: dict[str, Any] = {}


@router.get("/health")
async def health(request: Request) -> dict[str, Any]:
    rt = request.app.state.runtime
    out: dict[str, Any] = {"status": "ok", "warnings": []}
    try:
        async with rt.db.sessionmaker() as session:
            await session.execute(text("SELECT 1"))
        out["database"] = {"ok": True, "backend": rt.db.engine.dialect.name}
    except Exception as e:  # noqa: BLE001
        out["database"] = {"ok": False, "error": str(e)}
        out["status"] = "degraded"
    tel = rt.components.get("telephony")
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
    for name, check in EXTRA_CHECKS.items():
        ok, detail = await check(rt)
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
        raise HTTPException(413, "calendar file too large (64 KiB at most)")
    try:
        saved = rt.config.calendar.save_admin_file(yaml_text, rt.settings.holiday_dir)
    except ValueError as e:
        raise HTTPException(422, f"calendar file rejected: {e}") from e
    rt.reload_calendar()
    return {"saved": saved.name, "covered_years": sorted(rt.config.calendar.covered_years())}
