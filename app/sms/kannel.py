"""The outbox's SMS sender for Kannel's sendsms interface (HTTP POST; the account in X-Kannel-*
headers, never in the URL). Chinese text goes as UCS-2 (coding 2). Each message asks for delivery
reports (dlr-mask 31: delivered, failed, buffered, SMSC accepted, SMSC rejected) at a URL signed for
that message alone, so a forged report for another message is refused."""

from __future__ import annotations

import hashlib
import hmac

import httpx

from app.outbox.models import SUBMITTED
from app.outbox.service import Outgoing, Rejected, Submission

DLR_MASK = 1 | 2 | 4 | 8 | 16
#: Kannel's delivery-report types → delivered (True), failed (False), intermediate (None)
DLR_TYPES: dict[int, bool | None] = {1: True, 2: False, 4: None, 8: None, 16: False}


def dlr_token(secret: str, message_id: int) -> str:
    return hmac.new(secret.encode(), f"sms-dlr:{message_id}".encode(), hashlib.sha256).hexdigest()[:32]


def dlr_token_ok(secret: str, message_id: int, token: str) -> bool:
    return hmac.compare_digest(
        dlr_token(secret, message_id).encode("utf-8", "surrogatepass"), token.encode("utf-8", "surrogatepass")
    )


class KannelSender:
    name = "kannel"

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        url: str,
        username: str,
        password: str,
        sender: str,
        callback_base: str,
        secret: str,
    ) -> None:
        self.client, self.url, self.sender = client, url, sender
        self._auth = {"X-Kannel-Username": username, "X-Kannel-Password": password}
        self.callback_base, self._secret = callback_base.rstrip("/"), secret

    def dlr_url(self, message_id: int) -> str:
        # %d: report type, %A: the SMSC's answer (Kannel fills them in)
        return f"{self.callback_base}/api/sms/dlr/{message_id}/{dlr_token(self._secret, message_id)}?type=%d&answer=%A"

    async def send(self, message: Outgoing) -> Submission:
        headers = {
            **self._auth,
            "Content-Type": "text/plain; charset=UTF-16BE",
            "X-Kannel-To": message.recipient,
            "X-Kannel-From": self.sender,
            "X-Kannel-Coding": "2",
        }
        if self.callback_base:
            headers["X-Kannel-DLR-Mask"] = str(DLR_MASK)
            headers["X-Kannel-DLR-Url"] = self.dlr_url(message.id)
        r = await self.client.post(self.url, content=message.body.encode("utf-16-be"), headers=headers)
        answer = r.text.strip()[:200]
        if r.status_code in (200, 202) and answer[:2] in ("0:", "3:"):  # accepted / queued for later
            return Submission(SUBMITTED, ref=str(message.id))
        if r.status_code in (
            400,
            413,
        ):  # the gateway refuses this message (number, size): retrying won't help
            raise Rejected(f"gateway answered {r.status_code}: {answer}")
        raise ConnectionError(f"gateway answered {r.status_code}: {answer}")  # auth, overload: retried
