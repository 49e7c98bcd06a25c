"""Security headers on every HTTP response, and the Content-Security-Policy of the pages.

Pages keep their scripts inline; the policy allows exactly those scripts by their SHA-256 hash (no
'unsafe-inline', no nonce to thread through), plus same-site files. Anything injected into a page —
a script tag, an event-handler attribute, a javascript: URL — does not run.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.S | re.I)

BASE_HEADERS: list[tuple[bytes, bytes]] = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
]
# responses without their own policy (JSON, static files, /docs) may at least never be framed
DEFAULT_CSP = b"frame-ancestors 'none'"


@lru_cache(maxsize=64)
def _page_csp(path: str, mtime_ns: int) -> str:
    html = Path(path).read_text(encoding="utf-8")
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(m.group(1).encode()).digest()).decode() + "'"
        for m in INLINE_SCRIPT.finditer(html)
    )
    return (
        "default-src 'self'; "
        f"script-src 'self' {hashes}; "
        "style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


def page_csp(path: Path) -> str:
    return _page_csp(str(path), path.stat().st_mtime_ns)


class SecurityHeaders:
    """Pure ASGI middleware (leaves WebSockets and streaming bodies alone)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers.extend(h for h in BASE_HEADERS if h[0] not in present)
                if b"content-security-policy" not in present:
                    headers.append((b"content-security-policy", DEFAULT_CSP))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


SECRET_IN_TEXT = re.compile(r"(?i)\b(token|secret|password|passwd|hotline_session)=[^&\s\"']+")


def redact(text: str) -> str:
    return SECRET_IN_TEXT.sub(r"\1=[redacted]", text)


class RedactSecrets(logging.Filter):
    """Access and connection log lines carry the request target: a secret someone put into a URL
    (?token=…) is written as [redacted]."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


def install_log_redaction() -> None:
    for name in ("uvicorn.access", "uvicorn.error"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecrets) for f in logger.filters):
            logger.addFilter(RedactSecrets())
