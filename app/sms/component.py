"""STARTERS entry: when an SMS gateway is configured, the outbox's SMS go out through it (Kannel);
when none is, SMS wait in the outbox and /health's ``sms_gateway`` says so."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from app.health.router import EXTRA_CHECKS
from app.outbox.service import senders_of
from app.sms.kannel import KannelSender


async def sms_health(runtime: Any) -> tuple[bool, dict[str, Any]]:
    s = runtime.settings
    if not s.sms_gateway_url:
        return False, {
            "configured": False,
            "reason": "no SMS gateway configured (HOTLINE_SMS_GATEWAY_URL): SMS wait in the outbox",
        }
    detail: dict[str, Any] = {
        "configured": True,
        "gateway": "kannel",
        "delivery_reports": bool(s.sms_callback_base),
    }
    if not s.sms_callback_base:
        detail["reason"] = "no HOTLINE_SMS_CALLBACK_BASE: SMS are submitted but delivery is never confirmed"
        return False, detail
    return True, detail


@asynccontextmanager
async def sms_gateway(runtime: Any) -> AsyncIterator[None]:
    s = runtime.settings
    EXTRA_CHECKS["sms_gateway"] = sms_health
    if not s.sms_gateway_url:
        yield
        return
    async with httpx.AsyncClient(timeout=s.sms_gateway_timeout_s, trust_env=False) as client:
        senders = senders_of(runtime)
        senders["sms"] = KannelSender(
            client, url=s.sms_gateway_url, username=s.sms_gateway_username, password=s.sms_gateway_password,
            sender=s.sms_sender, callback_base=s.sms_callback_base, secret=s.sms_callback_secret,
        )  # fmt: skip
        try:
            yield
        finally:
            senders.pop("sms", None)
