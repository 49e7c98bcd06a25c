"""Signature and token checks refuse non-ASCII input instead of failing with a server error
(hmac.compare_digest raises TypeError on non-ASCII str; found by the schemathesis route fuzz)."""

from __future__ import annotations

from app.exchange.protocol import sign, verify
from app.sms.kannel import dlr_token, dlr_token_ok
from app.webhooks.wechat_crypto import signature, signature_ok


def test_sms_delivery_report_token() -> None:
    assert dlr_token_ok("s", 7, dlr_token("s", 7))
    assert not dlr_token_ok("s", 7, "令牌")
    assert not dlr_token_ok("s", 7, "\udcff")


def test_wechat_signature() -> None:
    assert signature_ok(signature("tok", "1", "n"), "tok", "1", "n")
    assert not signature_ok("签名", "tok", "1", "n")


def test_exchange_signature() -> None:
    good = sign("k", "1", "n", "POST", "/exchange/v1/messages", b"{}")
    assert verify("k", good, "1", "n", "POST", "/exchange/v1/messages", b"{}")
    assert not verify("k", "é" * 64, "1", "n", "POST", "/exchange/v1/messages", b"{}")
