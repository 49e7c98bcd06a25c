"""Structured logs: every line carries the HTTP request id and the call id (Asterisk uniqueid) of the
work it belongs to, through contextvars; `HOTLINE_LOG_FORMAT=json` writes one JSON object per line.
Secrets never reach the output: bearer tokens, `token=`/`password=`/`secret=` values and JSON fields
of those names are masked in every line, whoever logged it.

- HTTP: RequestContext (ASGI middleware) takes a sane `X-Request-ID` from the client or makes one,
  echoes it in the response, and writes one access line per request (path without its query string,
  status, milliseconds) — uvicorn's own access log, which prints query strings, is turned off.
- Calls: `call_scope(uniqueid)` binds the call id while an AGI route or an AMI event handler runs.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from app.observability.instruments import HTTP_REQUESTS

REQUEST_ID: ContextVar[str | None] = ContextVar("hotline_request_id", default=None)
CALL_ID: ContextVar[str | None] = ContextVar("hotline_call_id", default=None)

_REQUEST_ID_OK = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_SECRETS = [
    (re.compile(r"(?i)(bearer\s+)[^\s\"',;]+"), r"\1***"),
    (re.compile(r"(?i)\b((?:[a-z_]*token|password|passwd|secret|ami_secret)=)[^&\s\"',;]+"), r"\1***"),
    (re.compile(r"(?i)(\"(?:[a-z_]*token|password|secret)\"\s*:\s*\")[^\"]*"), r"\1***"),
    (re.compile(r"(?i)(\b(?:[a-z_]*token|password|secret)'?\s*:\s*')[^']*"), r"\1***"),
    (re.compile(r"(?i)(hotline_session=)[^;\s]+"), r"\1***"),
]

access_log = logging.getLogger("hotline.access")


# every pattern above needs one of these words; an ASCII line without any is written as it is (the
# five case-insensitive patterns cost ~30 µs per access line; this check ~1 µs). Non-ASCII text always
# goes through the patterns: re's case-insensitive matching knows equivalences lower() does not (ſ, K).
_TRIGGERS = ("bearer", "token", "passw", "secret", "hotline_session")


def redact(text: str) -> str:
    if text.isascii():
        low = text.lower()
        if not any(t in low for t in _TRIGGERS):
            return text
    for pattern, repl in _SECRETS:
        text = pattern.sub(repl, text)
    return text


@contextmanager
def call_scope(uniqueid: str | None) -> Iterator[None]:
    token = CALL_ID.set(uniqueid or None)
    try:
        yield
    finally:
        CALL_ID.reset(token)


class ContextFilter(logging.Filter):
    """Puts request_id and call_id on every record (None when outside a request or call)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        record.call_id = CALL_ID.get()
        return True


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(ids)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        rid, cid = getattr(record, "request_id", None), getattr(record, "call_id", None)
        record.ids = (f" req={rid}" if rid else "") + (f" call={cid}" if cid else "")
        return redact(super().format(record))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": redact(record.getMessage()),
        }
        for key in ("request_id", "call_id"):
            value = getattr(record, key, None)
            if value:
                out[key] = value
        for key in ("method", "path", "status", "ms"):
            if hasattr(record, key):
                out[key] = getattr(record, key)
        if record.exc_info:
            out["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(out, ensure_ascii=False)


def make_handler(fmt: str, stream: Any = None) -> logging.Handler:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(ContextFilter())
    return handler


def configure_logging(fmt: str = "text", level: str = "INFO") -> None:
    """Process-wide: one handler on the root logger; uvicorn's loggers propagate to it."""
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    root.addHandler(make_handler(fmt))
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        lg = logging.getLogger(name)
        lg.handlers.clear()
        lg.propagate = True


class RequestContext:
    """ASGI middleware: request id in, request id out, one access line (no query string)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given = ""
        for k, v in scope.get("headers", []):
            if k == b"x-request-id":
                given = v.decode("latin-1").strip()
                break
        rid = given if _REQUEST_ID_OK.match(given) else uuid.uuid4().hex
        token = REQUEST_ID.set(rid)
        t0 = time.perf_counter()
        status_code = 0

        async def send_with_id(message: dict[str, Any]) -> None:
            nonlocal status_code
            if message["type"] == "http.response.start":
                status_code = int(message["status"])
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if scope["type"] == "http":
                ms = round((time.perf_counter() - t0) * 1000, 1)
                method, path = scope.get("method", ""), scope.get("path", "")
                HTTP_REQUESTS.labels(method, f"{status_code // 100}xx" if status_code else "none").inc()
                access_log.info(
                    "%s %s %s %.1fms", method, path, status_code, ms,
                    extra={"method": method, "path": path, "status": status_code, "ms": ms},
                )  # fmt: skip
            REQUEST_ID.reset(token)
