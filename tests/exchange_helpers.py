"""Helpers for exchange tests (no tests here): peers' settings, building and signing messages."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from app.exchange import protocol as p


def key(kid: str) -> dict[str, str]:
    """A key whose secret is derived from its id (tests only; real secrets come from configuration)."""
    return {"id": kid, "secret": f"secret-of-{kid}-0123456789abcdef"}


def message(sender: str, recipient: str, number: str, seq: int, **tr: Any) -> dict[str, Any]:
    now = datetime.now(UTC).isoformat()
    transition = {
        "action": "hand_over", "from": "intake", "to": "handed_over", "note": "涉及跨州市事项",
        "actor": "km.agent", "actor_role": "agent", "at": now, "data": {"from": "kunming", "to": "province"},
    }  # fmt: skip
    transition.update(tr)
    return {
        "protocol": p.VERSION, "message_id": f"{sender}:{uuid.uuid4().hex}", "sender": sender,
        "recipient": recipient, "case_number": number, "seq": seq, "sent_at": now, "kind": "transition",
        "transition": transition,
        "case": {
            "number": number, "platform": "kunming", "transfer_to": "province", "status": "handed_over",
            "channel": "phone", "type": "complaint", "summary": "跨州市客运班线停运", "detail": "",
            "citizen_name": "张三", "citizen_phone": "13912342345", "confidential": False, "created_at": now,
        },
    }  # fmt: skip


def signed(
    body: bytes,
    kid: str,
    *,
    secret: str | None = None,
    ts: int | None = None,
    nonce: str | None = None,
    path: str = p.PATH,
    method: str = "POST",
) -> dict[str, str]:
    ts_s = str(int(time.time()) if ts is None else ts)
    nonce = nonce or uuid.uuid4().hex
    secret = secret or key(kid)["secret"]
    return {
        "Content-Type": "application/json",
        p.H_KEY: kid,
        p.H_TS: ts_s,
        p.H_NONCE: nonce,
        p.H_SIG: p.sign(secret, ts_s, nonce, method, path, body),
    }


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode()
