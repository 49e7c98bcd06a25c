"""The transfer domain's events: THE one place their topics and payloads are built.

- ``agent.transfer``  a transfer changed status; addressed to the transferring agent's desktop
  (``member`` = their username), with the message the desktop shows.
"""

from __future__ import annotations

from app.events import Event
from app.transfers.models import LABELS, CallTransfer

TRANSFER = "agent.transfer"


def out(t: CallTransfer) -> dict[str, object]:
    return {
        "id": t.xfer_id,
        "uniqueid": t.call_uniqueid,
        "mode": t.mode,
        "kind": t.kind,
        "target": t.target,
        "label": t.label,
        "to_platform": t.to_platform,
        "from_user": t.from_user,
        "from_platform": t.from_platform,
        "note": t.note,
        "case_number": t.case_number,
        "status": t.status,
        "status_label": LABELS.get(t.status, t.status),
        "detail": t.detail,
        "answered_by": t.answered_by,
        "requested_at": t.requested_at.isoformat() if t.requested_at else None,
        "answered_at": t.answered_at.isoformat() if t.answered_at else None,
        "ended_at": t.ended_at.isoformat() if t.ended_at else None,
    }


def message(t: CallTransfer) -> str:
    """What the transferring agent reads on the desktop (never silence: every outcome says where the
    caller is)."""
    where = f"转接至 {t.label}"
    text = {
        "requested": f"{where}：正在转接…",
        "ringing": f"{where}：对方振铃中，您已空闲",
        "consulting": f"{where}：咨询中，来电方在等待；可“完成转接”或“取消转接”",
        "answered": f"{where}：对方已接听" + (f"（{t.answered_by}）" if t.answered_by else ""),
        "completed": f"{where}：已完成，来电方与对方通话中",
        "cancelled": f"{where}：已取消，您已回到来电方",
        "failed": f"{where}：转接失败（{t.detail or '无人接听'}），来电正回到您的话机",
        "returned": f"{where}：转接失败（{t.detail or '无人接听'}），来电已回到您，请继续处理",
        "requeued": f"{where}：转接失败（{t.detail or '无人接听'}），您未接回，来电已回到原队列 {t.from_queue or ''}",
        "abandoned": f"{where}：来电方已挂机，转接结束",
    }
    return text.get(t.status, f"{where}：{t.status}")


def updated(t: CallTransfer) -> Event:
    return Event(TRANSFER, {**out(t), "member": t.from_user, "message": message(t)})
