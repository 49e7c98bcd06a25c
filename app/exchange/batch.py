"""POST /exchange/v1/batch: several messages in one signed request (docs/exchange/README.md §2.4).

One signature, one nonce and one transaction for up to 100 messages, each applied in the array's
order exactly as if it had come alone (its own savepoint: duplicate, parked, applied or rejected), and
answered one by one. A refusal of the request itself (signature, nonce, size, a malformed message, a
wrong sender or recipient) refuses all of it, with the same codes as POST /exchange/v1/messages.
Sending one message per request stays the protocol's base: a peer batches only when configured to
(``ExchangePeer.batch``). Commits."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError

from app.events import Event, commit_and_publish
from app.exchange import protocol as p
from app.exchange.inbound import Refused, check, receive, refuse, signed_request, store_nonce
from app.exchange.models import DUPLICATE, REJECTED
from app.settings import Settings

router = APIRouter(tags=["exchange"])


@router.post(
    p.BATCH_PATH,
    responses={
        401: {"description": "unsigned, unknown key, expired timestamp or bad signature"},
        409: {"description": "replayed nonce"},
        413: {"description": "body too large"},
        422: {"description": "malformed body"},
    },
)
async def post_batch(request: Request) -> JSONResponse:
    """Receive a signed batch; answer each message's outcome in order."""
    rt = request.app.state.runtime
    settings: Settings = rt.settings
    try:
        ex, peer, nonce, body = await signed_request(request, settings.exchange_max_batch_bytes)
        try:
            batch = p.Batch.model_validate_json(body)
        except ValidationError as e:
            errs = "; ".join(f"{'.'.join(str(x) for x in er['loc'])}: {er['msg']}" for er in e.errors()[:5])
            raise Refused(422, "malformed_body", errs[:1000], peer.name) from None
        for msg in batch.messages:
            check(peer, ex.node, msg)
        results: list[dict[str, Any]] = []
        async with rt.db.sessionmaker() as s:
            await store_nonce(s, ex, settings, peer.name, nonce)
            queued, events = ex.queued, list[Event]()
            token = ex.events.set(events)  # what a unit's system did: published after the commit
            try:
                for msg in batch.messages:
                    mark = len(events)
                    try:
                        async with s.begin_nested():
                            out = await receive(s, ex, peer.name, msg, msg.model_dump_json(by_alias=True))
                    except IntegrityError:  # delivered at the same time by another request: stored there
                        del events[mark:]
                        out = {"status": DUPLICATE, "message_id": msg.message_id}
                    results.append(out)
                await commit_and_publish(s, rt.hub, events)
            finally:
                ex.events.reset(token)
    except Refused as e:
        return await refuse(request, e)
    for out in results:
        if out["status"] == REJECTED:
            await refuse(request, Refused(409, "conflict", out.get("error") or "", peer.name))
    if ex.wake is not None and ex.queued != queued:
        ex.wake.set()
    return JSONResponse({"results": results})
