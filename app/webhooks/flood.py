"""Flood limits on the webhooks, per citizen on a channel (a WeChat openid, an app's user), checked
after the signature (a forged call never counts against a citizen), shared by every process
(app.flood): at most ``webhook_sender_limit`` messages per 10 minutes."""

from __future__ import annotations

import logging

from app.runtime import Runtime

log = logging.getLogger(__name__)
WINDOW_S = 600.0


async def refused(rt: Runtime, channel: str, sender: str) -> float | None:
    """None when the message may go on; else seconds until one would be (the refusal is logged)."""
    wait = await rt.flood.hit(f"webhook:{channel}:{sender}", rt.settings.webhook_sender_limit, WINDOW_S)
    if wait is not None:
        log.warning("%s: flood from %s… refused (%d s to wait)", channel, sender[:6], int(wait) + 1)
    return wait
