"""What a peer answers to a knowledge pull, read before anything is applied: a page that is not one
(hostile, truncated, out of bounds) or a refusal is a clear error naming the peer, and nothing of it
reaches the knowledge base (app.exchange.knowledge_copies). The peer is an httpx transport here; the
pull between real deployments is tests/integration/test_exchange_knowledge_copies.py."""

from __future__ import annotations

import json

import httpx
import pytest

from app.exchange.knowledge_copies import PullError, _fetch
from app.settings import ExchangePeer
from tests.exchange_helpers import key

PEER = ExchangePeer(name="prov-node", url="http://127.0.0.1:9", platforms=["province"], keys=[key("k1")])
OK = {"id": 7, "status": "published", "version": 2, "title": "居住证办理", "body": "材料：身份证。",
      "scope": "province", "updated_at": "2026-12-04T08:00:00+00:00"}  # fmt: skip


async def _answer(handler: httpx.MockTransport) -> object:
    async with httpx.AsyncClient(transport=handler) as client:
        return await _fetch(PEER, client, None, 0)


def _page(*articles: dict[str, object], **extra: object) -> httpx.MockTransport:
    body = json.dumps({"articles": list(articles), "next": None, "more": False, **extra})
    return httpx.MockTransport(lambda _req: httpx.Response(200, text=body))


async def test_a_good_page_is_read_and_the_request_is_signed():
    seen: list[httpx.Request] = []

    def peer(req: httpx.Request) -> httpx.Response:
        seen.append(req)
        return httpx.Response(200, json={"articles": [OK], "next": {"updated_since": "x", "after_id": 7}})

    page = await _answer(httpx.MockTransport(peer))
    assert [a.title for a in page.articles] == ["居住证办理"]  # type: ignore[attr-defined]
    assert seen[0].url.path == "/exchange/v1/knowledge" and seen[0].headers.get("x-exchange-signature")


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        (httpx.MockTransport(lambda r: httpx.Response(200, text="<html>维护中</html>")), "格式错误"),
        (_page({**OK, "body": ""}), "has no title or no text"),
        (_page({**OK, "id": -1}), "articles.0.id"),
        (_page({**OK, "status": "deleted"}), "articles.0.status"),
        (_page({**OK, "title": "长" * 201}), "articles.0.title"),
        (_page(*[{**OK, "id": i} for i in range(1, 502)]), "articles"),
        (_page(OK, next={"updated_since": "x" * 65, "after_id": 1}), "next.updated_since"),
        (httpx.MockTransport(lambda r: httpx.Response(401, json={"error": "bad_signature"})), "拒绝：HTTP 401"),
    ],
)
async def test_what_is_not_a_page_is_refused_with_a_clear_error(answer, says):
    with pytest.raises(PullError) as e:
        await _answer(answer)
    assert says in str(e.value) and str(e.value).startswith("prov-node")


async def test_a_peer_that_is_down_is_named():
    def down(req: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=req)

    with pytest.raises(PullError, match="prov-node 不可达：ConnectError"):
        await _answer(httpx.MockTransport(down))
