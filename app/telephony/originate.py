"""The public way to place an outbound call: an AMI Originate whose first leg's answer is awaited.

``as_list`` is set here and AmiConnection adds ``Async: true`` (panoramisk 1.4 pitfalls); the caller
builds the rest of the action."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.telephony.ami import AmiConnection


@dataclass(frozen=True)
class OriginateResult:
    ok: bool
    reason: str  # Asterisk's Reason code when the first leg did not answer


async def originate_and_wait(
    conn: AmiConnection, action: dict[str, Any], timeout: float = 40
) -> OriginateResult:
    """Send an Originate and wait for its OriginateResponse, which Asterisk sends only when the first
    leg answered or failed. Raises AmiError when Asterisk refuses or does not answer in time."""
    res = await conn.action({"Action": "Originate", **action}, as_list=True, timeout=timeout)
    resp: dict[str, str] = next((m for m in res if m.get("Event") == "OriginateResponse"), {})
    return OriginateResult(resp.get("Response", "Success") == "Success", resp.get("Reason", ""))
