"""The routers' order in app.routers.ROUTERS is free to serve speed (the hot reads' routers first, since
FastAPI tries routes in order): no request path is claimed by routes of two different routers."""

from __future__ import annotations

import re
from typing import Any

from app.routers import ROUTERS


def _routes() -> list[tuple[int, str, set[str], Any]]:
    out = []
    for i, router in enumerate(ROUTERS):
        for route in router.routes:
            regex = getattr(route, "path_regex", None)
            if regex is None:
                continue
            methods = set(getattr(route, "methods", None) or {"WEBSOCKET"})
            out.append((i, route.path, methods, regex))
    return out


def _example(path: str) -> str:
    """A concrete path the route's pattern takes: every {parameter} as a plain segment."""
    return re.sub(r"\{[^}]+\}", "x1", path)


def test_no_path_is_claimed_by_two_routers() -> None:
    routes = _routes()
    assert len(routes) > 100  # every domain's routes were found
    clashes = [
        (p1, p2)
        for i, p1, m1, rx1 in routes
        for j, p2, m2, _ in routes
        if i != j and m1 & m2 and rx1.match(_example(p2))
    ]
    assert clashes == []


def test_the_check_sees_a_clash() -> None:
    """The check above is not vacuous: a parameter route claims another router's literal path."""
    from fastapi import APIRouter

    a, b = APIRouter(), APIRouter()

    @a.get("/api/x/{number}")
    async def one(number: str) -> None: ...

    @b.get("/api/x/board")
    async def two() -> None: ...

    rx = a.routes[0].path_regex  # type: ignore[attr-defined]
    assert rx.match(_example(b.routes[0].path))  # type: ignore[attr-defined]
