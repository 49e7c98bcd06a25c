"""Live transfer (转接): where an agent may send a call, as data. Pure: the app checks who may
transfer and whether the target is reachable now; this module says what the target *is* and how
Asterisk reaches it.

Targets: another platform's queue (prefecture → province and back), a named colleague's phone, or an
outside number from the configured directory (110/119/120, retained hotlines, utilities' service
lines). Agents never type a free number: only directory entries can leave the hotline.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

TargetKind = Literal["queue", "agent", "external"]
Mode = Literal["blind", "attended"]
KINDS: tuple[TargetKind, ...] = ("queue", "agent", "external")
MODES: tuple[Mode, ...] = ("blind", "attended")
_CODE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_NUMBER = re.compile(r"^[0-9]{3,20}$")
_ENDPOINT = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
SEP = "^"  # field separator of the HOTLINE_XFER channel variable (never in a code, number or queue)


class TransferError(ValueError):
    """The transfer target is invalid; the message is shown to the agent (Chinese)."""


@dataclass(frozen=True)
class DirectoryEntry:
    code: str
    name: str
    number: str


@dataclass(frozen=True)
class TransferSettings:
    ring_s: int = 20  # how long the target rings before the caller returns
    directory: tuple[DirectoryEntry, ...] = ()

    def entry(self, code: str) -> DirectoryEntry | None:
        return next((e for e in self.directory if e.code == code), None)


@dataclass(frozen=True)
class TransferPlan:
    kind: TargetKind
    target: str  # what the agent chose: queue name, colleague's username or directory code
    label: str  # shown on desktops, e.g. 省平台 q-province / 公安报警 110
    queue: str | None = None  # kind queue: the queue the caller joins
    dial: str | None = None  # kind agent/external: the Asterisk dial string
    platform: str | None = None  # the receiving platform (queue kind), else None

    def channel_value(self, xfer_id: str, ring_s: int, back_iface: str, back_queue: str) -> str:
        """HOTLINE_XFER for the dialplan: id^kind^queue-or-dial^ring^back interface^back queue."""
        fields = [xfer_id, self.kind, self.queue or self.dial or "", str(ring_s), back_iface, back_queue]
        for f in fields:
            if SEP in f or "," in f or "\n" in f:
                raise TransferError(f"非法的转接参数 {f!r}")
        return SEP.join(fields)


def parse_transfer(raw: Any) -> TransferSettings:
    """The `transfer` section of a platform YAML (absent: 20 s ring, empty directory)."""
    if raw is None:
        return TransferSettings()
    if not isinstance(raw, dict):
        raise TransferError("'transfer' must be a mapping {ring_s: ..., directory: [...]}")
    ring = raw.get("ring_s", 20)
    if not isinstance(ring, int) or isinstance(ring, bool) or not 5 <= ring <= 120:
        raise TransferError(f"transfer.ring_s must be an integer 5-120 seconds, got {ring!r}")
    entries = []
    for i, e in enumerate(raw.get("directory") or []):
        where = f"transfer.directory[{i}]"
        if not isinstance(e, dict):
            raise TransferError(f"{where}: must be a mapping")
        code, name, number = e.get("code"), e.get("name"), e.get("number")
        if not isinstance(code, str) or not _CODE.match(code):
            raise TransferError(f"{where}: code must be 1-32 letters, digits, '-' or '_' (quoted), got {code!r}")
        if not isinstance(name, str) or not name.strip():
            raise TransferError(f"{where}: name must be a non-empty string")
        if not isinstance(number, str) or not _NUMBER.match(number):
            raise TransferError(f"{where}: number must be 3-20 digits (quoted), got {number!r}")
        entries.append(DirectoryEntry(code, name.strip(), number))
    codes = [e.code for e in entries]
    dup = sorted({c for c in codes if codes.count(c) > 1})
    if dup:
        raise TransferError(f"transfer.directory: duplicate code(s) {dup}")
    return TransferSettings(ring_s=ring, directory=tuple(entries))


def plan_transfer(
    config: Any,
    kind: str,
    target: str,
    *,
    agent_endpoint: str | None = None,
    agent_label: str | None = None,
    outbound_context: str = "hotline-outbound",
) -> TransferPlan:
    """What ``target`` of ``kind`` means under ``config`` (a callflow.HotlineConfig). For kind agent the
    app passes the colleague's SIP endpoint (None: the colleague has no phone). Raises TransferError."""
    if kind not in KINDS:
        raise TransferError(f"未知的转接类型 {kind!r}")
    if kind == "queue":
        owner = config.platform_for_queue(target)
        if owner is None:  # a platform code names its first queue
            try:
                owner = config.platform(target)
            except KeyError:
                raise TransferError(f"没有这个队列或平台：{target}") from None
            target = owner.queues[0]
        return TransferPlan("queue", target, f"{owner.short_name} {target}", queue=target, platform=owner.code)
    if kind == "agent":
        if not agent_endpoint:
            raise TransferError(f"坐席 {target} 没有配置话机，无法转接")
        if not _ENDPOINT.match(agent_endpoint):
            raise TransferError(f"坐席 {target} 的话机名称无效")
        return TransferPlan("agent", target, agent_label or target, dial=f"PJSIP/{agent_endpoint}")
    entry = config.transfer.entry(target)
    if entry is None:
        raise TransferError(f"转接号码簿里没有 {target}：只能转接到号码簿中的外部号码")
    return TransferPlan(
        "external", target, f"{entry.name} {entry.number}", dial=f"Local/{entry.number}@{outbound_context}"
    )
