"""WeChat official-account message push (公众号消息推送), in its real protocol: GET verifies the URL
(signature, echostr); POST carries a citizen's message as XML, plain or AES-encrypted
(``encrypt_type=aes``: ``msg_signature`` over the ciphertext too). A text message becomes a case (or
joins the citizen's open one); the passive reply gives the case number, encrypted when the push was.
A wrong signature, a stale timestamp or a message for another AppID is refused (403) and logged.
WeChat resends a message it got no answer for: the MsgId makes the resend count once."""

from __future__ import annotations

import logging
import re
import time
from typing import Annotated

from defusedxml import ElementTree
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import PlainTextResponse, Response

from app.cases.context import of_runtime
from app.cases.service import CaseError
from app.deps import HubDep, SessionDep
from app.events import commit_and_publish
from app.intake.service import Inbound, receive
from app.runtime import Runtime, get_runtime
from app.webhooks import flood
from app.webhooks.wechat_crypto import CryptoError, decrypt, encrypt, signature_ok
from app.webhooks.wechat_crypto import signature as sign_parts

log = logging.getLogger(__name__)
router = APIRouter(prefix="/webhooks/wechat", tags=["webhooks"])
RT = Annotated[Runtime, Depends(get_runtime)]
MAX_BODY = 64 * 1024
MAX_SKEW_S = 300
Q = Annotated[str, Query(max_length=128)]
IDENT = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # openids and account ids: safe inside the reply's CDATA


def _configured(rt: Runtime) -> None:
    if not rt.settings.wechat_token:
        raise HTTPException(404, "WeChat is not configured")


def _fresh(timestamp: str) -> None:
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > MAX_SKEW_S:
        raise HTTPException(403, "stale or missing timestamp")


@router.get("", response_class=PlainTextResponse)
async def verify(rt: RT, signature: Q = "", timestamp: Q = "", nonce: Q = "", echostr: Q = "") -> str:
    """The console's URL check: echo ``echostr`` when the signature is ours."""
    _configured(rt)
    if not signature_ok(signature, rt.settings.wechat_token, timestamp, nonce):
        log.warning("wechat: URL verification with a wrong signature refused")
        raise HTTPException(403, "bad signature")
    return echostr


def _fields(xml: bytes) -> dict[str, str]:
    try:
        root = ElementTree.fromstring(xml, forbid_dtd=True)
    except Exception:  # noqa: BLE001 - defusedxml raises several kinds for hostile or broken XML
        raise HTTPException(400, "not a WeChat XML message") from None
    return {child.tag: (child.text or "") for child in root}


def _reply_xml(to: str, frm: str, text: str) -> str:
    return (
        f"<xml><ToUserName><![CDATA[{to}]]></ToUserName><FromUserName><![CDATA[{frm}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{text}]]></Content></xml>"
    )


@router.post("")
async def push(
    request: Request,
    session: SessionDep,
    hub: HubDep,
    rt: RT,
    signature: Q = "",
    timestamp: Q = "",
    nonce: Q = "",
    encrypt_type: Q = "",
    msg_signature: Q = "",
) -> Response:
    _configured(rt)
    s = rt.settings
    body = await request.body()
    if len(body) > MAX_BODY:
        raise HTTPException(413, "message too large")
    _fresh(timestamp)
    if not signature_ok(signature, s.wechat_token, timestamp, nonce):
        log.warning("wechat: push with a wrong signature refused")
        raise HTTPException(403, "bad signature")
    encrypted = encrypt_type == "aes"
    fields = _fields(body)
    if encrypted:
        if not s.wechat_encoding_aes_key:
            raise HTTPException(403, "encrypted mode is not configured")
        ciphertext = fields.get("Encrypt", "")
        if not signature_ok(msg_signature, s.wechat_token, timestamp, nonce, ciphertext):
            log.warning("wechat: encrypted push with a wrong msg_signature refused")
            raise HTTPException(403, "bad msg_signature")
        try:
            fields = _fields(decrypt(s.wechat_encoding_aes_key, s.wechat_app_id, ciphertext).encode())
        except CryptoError as e:
            log.warning("wechat: encrypted push refused: %s", e)
            raise HTTPException(403, f"cannot decrypt: {e}") from None
    openid, account = fields.get("FromUserName", ""), fields.get("ToUserName", "")
    if not (IDENT.match(openid) and IDENT.match(account)):
        raise HTTPException(400, "FromUserName/ToUserName missing or not a WeChat id")
    wait = await flood.refused(rt, "wechat", openid)
    if wait is not None:  # answered (WeChat would resend an unanswered push), nothing stored
        answer = f"您发送的消息过于频繁，请 {int(wait) // 60 + 1} 分钟后再试。"
    elif fields.get("MsgType") != "text" or not fields.get("Content", "").strip():
        answer = "您好，请用文字描述您的诉求（发生了什么、在哪里），我们会为您登记工单。"
    else:
        ext = fields.get("MsgId") or f"{openid}:{fields.get('CreateTime', '')}"
        try:
            got = await receive(
                session,
                Inbound(
                    channel="wechat", external_id=ext, sender=openid, text=fields["Content"].strip()[:2000]
                ),
                ctx=of_runtime(rt),
            )
        except CaseError as e:
            raise HTTPException(e.status, str(e)) from None
        await commit_and_publish(session, hub, got.events)
        number = got.case.number if got.case else ""
        answer = (
            f"您的诉求已受理，工单号 {number}。可在 12345 网站凭工单号查询办理进度。"
            if got.created
            else f"您反映的情况已补充到工单 {number}。"
        )
    reply = _reply_xml(openid, account, answer)
    if encrypted:
        ct = encrypt(s.wechat_encoding_aes_key, s.wechat_app_id, reply)
        ts, n = str(int(time.time())), nonce
        sig = sign_parts(s.wechat_token, ts, n, ct)
        reply = (
            f"<xml><Encrypt><![CDATA[{ct}]]></Encrypt><MsgSignature><![CDATA[{sig}]]></MsgSignature>"
            f"<TimeStamp>{ts}</TimeStamp><Nonce><![CDATA[{n}]]></Nonce></xml>"
        )
    return Response(reply, media_type="application/xml; charset=utf-8")
