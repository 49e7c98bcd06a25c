"""WeChat official-account push (plain and AES mode), the generic signed app API (Weibo, the
province's app) and Open311 POST requests (SQLite and PostgreSQL): each makes a case carrying its
channel and answers the case number; forged, stale and hostile calls are refused and store nothing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import struct
import time

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from defusedxml import ElementTree
from sqlalchemy import select

from app.cases.models import Case
from tests.conftest import make_settings, running_app
from tests.integration.test_cases_helpers import write_rules

TOKEN, APPID = "wx-test-token", "wx1234567890abcdef"
AES_KEY = base64.b64encode(bytes(range(32))).decode().rstrip("=")  # 43 characters, as the console gives
APP_SECRET = "weibo-app-secret-0123456789"


def _settings(tmp_path, db_url):
    s = make_settings(
        tmp_path, db_url, wechat_token=TOKEN, wechat_encoding_aes_key=AES_KEY, wechat_app_id=APPID,
        intake_apps=[{"id": "weibo", "secret": APP_SECRET, "channel": "weibo"}], open311_api_keys=["o311-key-1"],
    )  # fmt: skip
    write_rules(s.var_dir)
    return s


def _sig(*parts: str) -> str:  # the spec: SHA-1 over the sorted parts, concatenated
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def _text_xml(openid: str, content: str, msg_id: str) -> str:
    return (f"<xml><ToUserName><![CDATA[gh_account01]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>")  # fmt: skip


def _spec_encrypt(xml: str, appid: str = APPID) -> str:
    """WeChat's encrypted mode, written out from the spec (random16 | len | msg | appid, PKCS#7/32)."""
    key = base64.b64decode(AES_KEY + "=")
    raw = xml.encode()
    plain = os.urandom(16) + struct.pack(">I", len(raw)) + raw + appid.encode()
    n = 32 - len(plain) % 32
    plain += bytes([n]) * n
    e = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(e.update(plain) + e.finalize()).decode()


def _spec_decrypt(b64: str) -> str:
    key = base64.b64decode(AES_KEY + "=")
    d = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    plain = d.update(base64.b64decode(b64)) + d.finalize()
    plain = plain[: -plain[-1]]
    (n,) = struct.unpack(">I", plain[16:20])
    assert plain[20 + n :].decode() == APPID
    return plain[20 : 20 + n].decode()


async def _cases(app) -> list[Case]:
    async with app.state.runtime.db.sessionmaker() as s:
        return list(await s.scalars(select(Case).order_by(Case.id)))


async def test_wechat_plain_and_encrypted_push(tmp_path, db_url):
    async with running_app(_settings(tmp_path, db_url)) as (app, client):
        ts, nonce = str(int(time.time())), "n0nce"
        ok = {"signature": _sig(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce}
        r = await client.get("/webhooks/wechat", params={**ok, "echostr": "e-123"})
        assert r.status_code == 200 and r.text == "e-123"
        bad = {**ok, "signature": _sig("not-our-token", ts, nonce)}
        assert (await client.get("/webhooks/wechat", params={**bad, "echostr": "x"})).status_code == 403

        body = _text_xml("oUser_abc123", "翠湖公園附近的公厕坏了好几天", "1001")
        r = await client.post("/webhooks/wechat", params=ok, content=body)
        assert r.status_code == 200
        reply = {c.tag: c.text for c in ElementTree.fromstring(r.content)}
        (c,) = await _cases(app)
        assert c.channel == "wechat" and c.number in reply["Content"] and "已受理" in reply["Content"]
        assert (reply["ToUserName"], reply["FromUserName"], reply["MsgType"]) == (
            "oUser_abc123",
            "gh_account01",
            "text",
        )
        # WeChat resends a message it got no answer for: the same case
        r = await client.post("/webhooks/wechat", params=ok, content=body)
        assert c.number in r.text and len(await _cases(app)) == 1
        # forged, stale, hostile: refused, nothing stored
        assert (
            await client.post("/webhooks/wechat", params=bad, content=_text_xml("oX", "伪造", "1002"))
        ).status_code == 403
        old = str(int(time.time()) - 3600)
        stale = {"signature": _sig(TOKEN, old, nonce), "timestamp": old, "nonce": nonce}
        assert (
            await client.post("/webhooks/wechat", params=stale, content=_text_xml("oX", "旧", "1003"))
        ).status_code == 403
        bomb = ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
                "<xml><FromUserName>oX</FromUserName><ToUserName>gh</ToUserName><MsgType>text</MsgType>"
                "<Content>&b;</Content></xml>")  # fmt: skip
        assert (await client.post("/webhooks/wechat", params=ok, content=bomb)).status_code == 400
        assert len(await _cases(app)) == 1

        # encrypted mode: msg_signature over the ciphertext, reply encrypted and signed the same way
        enc = _spec_encrypt(_text_xml("oUser_def456", "我要咨询大理市公积金提取的手续", "2001"))
        envelope = f"<xml><ToUserName><![CDATA[gh_account01]]></ToUserName><Encrypt><![CDATA[{enc}]]></Encrypt></xml>"
        params = {**ok, "encrypt_type": "aes", "msg_signature": _sig(TOKEN, ts, nonce, enc)}
        r = await client.post("/webhooks/wechat", params=params, content=envelope)
        assert r.status_code == 200, r.text
        out = {c.tag: c.text for c in ElementTree.fromstring(r.content)}
        assert out["MsgSignature"] == _sig(TOKEN, out["TimeStamp"], out["Nonce"], out["Encrypt"])
        inner = {c.tag: c.text for c in ElementTree.fromstring(_spec_decrypt(out["Encrypt"]))}
        c2 = (await _cases(app))[-1]
        assert c2.channel == "wechat" and c2.platform == "dali" and c2.number in inner["Content"]
        # a wrong msg_signature, or a message encrypted for another account: refused
        forged = {**params, "msg_signature": _sig(TOKEN, ts, nonce, enc + "x")}
        assert (await client.post("/webhooks/wechat", params=forged, content=envelope)).status_code == 403
        other = _spec_encrypt(_text_xml("oUser_def456", "别的公众号", "2002"), appid="wxOTHER")
        env2 = f"<xml><Encrypt><![CDATA[{other}]]></Encrypt></xml>"
        p2 = {**ok, "encrypt_type": "aes", "msg_signature": _sig(TOKEN, ts, nonce, other)}
        assert (await client.post("/webhooks/wechat", params=p2, content=env2)).status_code == 403
        assert len(await _cases(app)) == 2


async def test_signed_app_api_and_open311(tmp_path, db_url):
    async with running_app(_settings(tmp_path, db_url)) as (app, client):

        def signed(payload: dict, secret: str = APP_SECRET, ts: int | None = None) -> dict:
            body = json.dumps(payload, ensure_ascii=False).encode()
            t = str(ts or int(time.time()))
            sig = hmac.new(secret.encode(), t.encode() + b"." + body, hashlib.sha256).hexdigest()
            return {"content": body, "headers": {"X-Hotline-Timestamp": t, "X-Hotline-Signature": sig,
                                                 "Content-Type": "application/json"}}  # fmt: skip

        msg = {"id": "wb-1", "user": "u778", "text": "曲靖市麒麟区某路段积水严重", "type": "complaint"}
        r = await client.post("/api/intake/apps/weibo/requests", **signed(msg))
        assert r.status_code == 201, r.text
        (c,) = await _cases(app)
        assert (c.number, c.channel, c.platform) == (r.json()["number"], "weibo", "qujing")
        again = await client.post("/api/intake/apps/weibo/requests", **signed(msg))
        assert again.json() == {"number": c.number, "created": False} and len(await _cases(app)) == 1
        for attempt in (
            signed(msg, secret="wrong-secret-0123456789"),
            signed(msg, ts=int(time.time()) - 3600),
        ):
            assert (await client.post("/api/intake/apps/weibo/requests", **attempt)).status_code == 403
        assert (await client.post("/api/intake/apps/nosuch/requests", **signed(msg))).status_code == 403

        form = {"service_code": "0102", "description": "停电两天了", "address_string": "昆明市盘龙区北京路"}
        r = await client.post("/open311/v2/requests.json", data=form)
        assert r.status_code == 403 and r.json()[0]["code"] == 403
        r = await client.post(
            "/open311/v2/requests.json", data={**form, "api_key": "o311-key-1", "phone": "13987112399"}
        )
        assert r.status_code == 200, r.text
        number = r.json()[0]["service_request_id"]
        c2 = (await _cases(app))[-1]
        assert (c2.number, c2.channel, c2.category_code, c2.platform) == (
            number,
            "open311",
            "0102",
            "kunming",
        )
        r = await client.post(
            "/open311/v2/requests.json", data={**form, "api_key": "o311-key-1", "service_code": "9999"}
        )
        assert r.status_code == 400
        assert (await client.get("/open311/v2/services/0102.json")).json() == {
            "service_code": "0102",
            "attributes": [],
        }
        assert (await client.get("/open311/v2/services/9999.json")).status_code == 404
        assert len(await _cases(app)) == 2
