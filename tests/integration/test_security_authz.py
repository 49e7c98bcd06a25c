"""Roles on every route and socket: every HTTP operation and WebSocket of the running app is called as
an anonymous client and as each role. A route is either on the short public list, or refuses an
anonymous client (401) and refuses exactly the roles its require_roles() does not name (403); a new
route without a role check fails this test. (Platform scope inside a role is tested per domain.)"""

from __future__ import annotations

import re
from typing import Any

import httpx
import websockets
from fastapi.routing import APIRoute, APIWebSocketRoute

from app.auth.models import Role
from tests.browser import live_server
from tests.conftest import add_user, make_settings

# reachable without a session, on purpose; the channels authenticate otherwise: citizens' pages are
# rate-limited and show a case only for its number + phone, the SMS gateway's calls come from its
# addresses (reports also signed per message), webhooks and app intake carry signatures, and peer
# deployments sign every exchange request (HMAC per key id, timestamp + nonce; refused and audited
# otherwise: tests/integration/test_exchange_inbound.py)
PUBLIC = re.compile(
    r"^/(health|metrics|login|docs.*|redoc.*|openapi\.json|static.*|public/.*|open311/.*|ui/.*|"
    r"api/auth/login|api/auth/logout|citizen|api/citizen/.*|api/sms/.*|webhooks/.*|api/intake/apps/.*|"
    r"exchange/v1/.*)?$"
)
ANY_USER = {"/api/auth/me"}  # every logged-in user, whatever the role
SKIP_FOR_ROLES = {"/api/auth/logout", "/api/auth/password"}  # would end the session the matrix uses


def declared_roles(route: Any) -> set[Role] | None:
    """The roles named by require_roles() among the route's dependencies (None: any logged-in user)."""
    found: set[Role] | None = None
    stack = list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        for cell in getattr(dep.call, "__closure__", None) or ():
            v = cell.cell_contents
            if isinstance(v, tuple) and v and all(isinstance(r, Role) for r in v):
                found = (found or set()) | set(v)
        stack.extend(dep.dependencies)
    return found


def all_routes(app: Any) -> list[tuple[Any, str]]:
    """(route, full path) of every route, through included routers (FastAPI keeps them nested)."""
    try:
        from fastapi.routing import _iter_routes_with_context

        return [(r, ctx.path if ctx is not None and ctx.path else getattr(r, "path", ""))
                for r, ctx in _iter_routes_with_context(app.routes)]
    except ImportError:  # older FastAPI: already flat
        return [(r, getattr(r, "path", "")) for r in app.routes]


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


async def test_every_route_and_socket_checks_roles(tmp_path, sqlite_url):
    async with live_server(make_settings(tmp_path, sqlite_url)) as (app, base):
        users = {"agent": ("li.agent", {"platform": "dali", "sip_endpoint": "agent-1001"}),
                 "supervisor": ("km.sup", {"platform": "kunming"}), "unit": ("water.h", {"platform": "kunming",
                 "unit_code": "km-water"}), "admin": ("root", {})}
        tokens: dict[str, str] = {}
        from sqlalchemy import select

        from app.auth.models import User

        for role, (name, kw) in users.items():
            await add_user(app, name, role, **kw)
            async with app.state.runtime.db.sessionmaker() as s:
                tokens[role] = app.state.runtime.signer.issue(await s.scalar(select(User).where(User.username == name)))
        checked, problems = 0, []
        async with httpx.AsyncClient(base_url=base, timeout=30) as c:
            for route, full in all_routes(app):
                if isinstance(route, APIRoute):
                    path, roles = concrete(full), declared_roles(route)
                    for method in sorted(route.methods - {"HEAD"}):
                        kw: dict[str, Any] = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
                        r = await c.request(method, path, **kw)
                        checked += 1
                        public = bool(PUBLIC.match(full))
                        if not public and r.status_code != 401:
                            problems.append(f"anonymous {method} {full}: {r.status_code} (not on the public list)")
                        if public or full in SKIP_FOR_ROLES:
                            continue
                        if roles is None and full not in ANY_USER:
                            problems.append(f"{method} {full}: no require_roles() — name the roles")
                        for role, token in tokens.items():
                            r = await c.request(method, path, headers={"Authorization": f"Bearer {token}"}, **kw)
                            checked += 1
                            refused = r.status_code == 403 and str(r.json().get("detail", "")).startswith("角色 ")
                            if r.status_code == 401 or refused != (Role(role) not in (roles or set(Role))):
                                problems.append(f"{role} {method} {full}: {r.status_code} {r.text[:80]}")
                elif isinstance(route, APIWebSocketRoute):
                    url = base.replace("http", "ws") + concrete(full)
                    roles = {Role.agent} if full == "/ws/agent" else {Role.supervisor, Role.admin}
                    for role, token in [("anonymous", "forged"), *tokens.items()]:
                        checked += 1
                        allowed = role != "anonymous" and Role(role) in roles
                        try:
                            async with websockets.connect(url, additional_headers={"Cookie": f"hotline_session={token}"}) as ws:
                                await ws.recv()
                                ok = True
                        except (websockets.InvalidStatus, websockets.ConnectionClosed):
                            ok = False
                        if ok != allowed:
                            problems.append(f"{role} WS {full}: {'accepted' if ok else 'refused'}")
        print(f"authorisation matrix: {checked} route × identity checks")
        assert checked > 200
        assert problems == [], "\n".join(problems)
