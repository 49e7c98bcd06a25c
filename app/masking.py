"""How a citizen's number is shown in supervisors' and office views: 139****2345 (the agent handling
the call sees it in full). Kernel module: imports nothing from app."""

from __future__ import annotations


def mask_number(number: str) -> str:
    """Supervisors' views show 139****2345; the agent handling the call sees it in full."""
    if len(number) >= 7:
        return number[:3] + "*" * (len(number) - 7) + number[-4:] if len(number) > 7 else number[:3] + "****"
    return number


def mask_email(address: str) -> str:
    """A citizen's e-mail address as logs and lists show it: z***@example.com (the domain kept, so an
    administrator sees where hostile mail comes from, never whom)."""
    local, at, domain = address.rpartition("@")
    if not at:
        return "***"
    return (local[:1] or "") + "***@" + domain[:190]
