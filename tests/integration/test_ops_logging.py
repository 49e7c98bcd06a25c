"""Structured logs: JSON lines carry the request id (echoed in X-Request-ID) and the call id of the AMI
event being handled; no token, password or secret reaches a line, whoever logged it."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from app.telephony.lifecycle import TELEPHONY
from tests.conftest import add_user, make_settings, running_app


@contextmanager
def json_lines() -> Iterator[io.StringIO]:
    from app.observability.logging import make_handler

    buf = io.StringIO()
    handler = make_handler("json", buf)
    root = logging.getLogger()
    old = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield buf
    finally:
        root.removeHandler(handler)
        root.setLevel(old)


def _parse(buf: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in buf.getvalue().splitlines() if line.strip()]


async def test_request_id_echoed_and_in_access_line_without_query_or_token(tmp_path, sqlite_url):
    async with running_app(make_settings(tmp_path, sqlite_url)) as (app, client):
        await add_user(app, "root.admin", "admin")
        with json_lines() as buf:
            r = await client.get("/health", headers={"X-Request-ID": "req-abc.123"})
            assert r.headers["x-request-id"] == "req-abc.123"
            r2 = await client.get("/api/cases?token=leaky-token-value", headers={"X-Request-ID": "x" * 200})
            own = r2.headers["x-request-id"]
            assert own != "x" * 200 and len(own) == 32  # an unusable id is replaced by our own
            login = await client.post(
                "/api/auth/login", json={"username": "root.admin", "password": "correct-horse-42"}
            )
            token = login.json()["token"]
            await client.get("/api/calls", headers={"Authorization": f"Bearer {token}"})
            logging.getLogger("somewhere").warning(
                "forwarding Authorization: Bearer %s password=hunter2", token
            )
        lines = _parse(buf)
        text = buf.getvalue()
        access = [x for x in lines if x["logger"] == "hotline.access"]
        health = [x for x in access if x.get("path") == "/health"]
        assert health and health[0]["request_id"] == "req-abc.123" and health[0]["status"] == 200
        cases = [x for x in access if x.get("path") == "/api/cases"]
        assert cases and cases[0]["request_id"] == own and cases[0]["status"] == 401
        assert "leaky-token-value" not in text
        assert token not in text and "hunter2" not in text and "correct-horse-42" not in text
        assert any("Bearer ***" in x["msg"] and "password=***" in x["msg"] for x in lines)


async def test_ami_handler_lines_carry_the_call_id(tmp_path, sqlite_url):
    async with running_app(make_settings(tmp_path, sqlite_url)) as (app, _client):
        tel = app.state.runtime.require(TELEPHONY)
        with json_lines() as buf:
            # a QueueCallerAbandon without a Queue field makes the handler fail: the error line names the call
            tel.consumer.feed("main", {"Event": "QueueCallerAbandon", "Uniqueid": "1700000001.77"})
            await tel.consumer.drained()
        failed = [x for x in _parse(buf) if "AMI handler" in x["msg"]]
        assert failed and failed[0]["call_id"] == "1700000001.77", _parse(buf)


def test_text_format_redacts_and_names_ids():
    from app.observability.logging import CALL_ID, REQUEST_ID, make_handler

    buf = io.StringIO()
    lg = logging.getLogger("hotline.test.text")
    lg.propagate = False
    lg.addHandler(make_handler("text", buf))
    r, c = REQUEST_ID.set("r-1"), CALL_ID.set("1700000002.1")
    try:
        lg.warning("login with {'password': 'p@ss', \"token\": \"abc\"} secret=s3 ami_secret=s4")
    finally:
        REQUEST_ID.reset(r)
        CALL_ID.reset(c)
    out = buf.getvalue()
    assert "req=r-1 call=1700000002.1" in out
    for leaked in ("p@ss", '"abc"', "s3", "s4"):
        assert leaked not in out, out
