"""Shared fixtures: databases (SQLite and PostgreSQL), the app, users, and the sandbox Asterisk."""

from __future__ import annotations

import asyncio
import io
import os
import socket
import sys
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.settings import Settings
from tests import resources
from tests.resources import require

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("HOTLINE_SHARED_DIR", REPO.parent / "shared"))
PG_HOST, PG_PORT = "127.0.0.1", 5432
PG_ADMIN_URL = os.environ.get("HOTLINE_TEST_PG", f"postgresql://root@{PG_HOST}:{PG_PORT}/test")


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("hotline")
    g.addoption(
        "--allow-skip", default=None, metavar="LIST",
        help=f"skip (instead of fail) tests whose real parts are missing: comma-separated from "
        f"{', '.join(resources.RESOURCES)} or 'all' (default: ${resources.ENV})",
    )  # fmt: skip
    g.addoption(
        "--require-all", action="store_true",
        help="every real part is required, whatever --allow-skip or the environment say (make test / CI)",
    )  # fmt: skip


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "needs(*resources): real parts the test needs (tests/resources.py)")
    if config.getoption("require_all"):
        resources.configure(set())
    else:
        text = config.getoption("allow_skip")
        resources.configure(
            resources.parse_allowed(os.environ.get(resources.ENV, "") if text is None else text)
        )


def pytest_report_header(config: pytest.Config) -> str:
    return resources.summary()


#: A test still running after this long gets its event loop's tasks printed (with their stacks) to
#: the real stderr: an asyncio hang shows *what* it awaits, which a thread dump cannot.
TASK_DUMP_AFTER_S = float(os.environ.get("HOTLINE_TEST_TASK_DUMP_S", "300"))


def _dump_asyncio_tasks(nodeid: str) -> None:
    frame = sys._current_frames().get(threading.main_thread().ident or 0)
    loop = None
    while frame is not None and loop is None:
        obj = frame.f_locals.get("self")
        loop = obj if isinstance(obj, asyncio.AbstractEventLoop) else None
        frame = frame.f_back
    if loop is None or loop.is_closed():
        return

    def dump() -> None:
        out = io.StringIO()
        for task in asyncio.all_tasks(loop):
            task.print_stack(limit=10, file=out)
        sys.__stderr__.write(f"\n--- {nodeid}: still running after {TASK_DUMP_AFTER_S:g} s; its tasks:\n")
        sys.__stderr__.write(out.getvalue())
        sys.__stderr__.flush()

    loop.call_soon_threadsafe(dump)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    timer = threading.Timer(TASK_DUMP_AFTER_S, _dump_asyncio_tasks, args=(item.nodeid,))
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def pytest_runtest_setup(item: pytest.Item) -> None:
    for mark in item.iter_markers("needs"):
        require(*mark.args)


async def _pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped at the end."""
    require("postgres")  # unreachable: a failure (a skip only when the developer opted out)
    name = f"hotline_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql+asyncpg://root@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each test using this runs once on SQLite and once on PostgreSQL (a fresh schema each time)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'hotline.db'}"
        return
    base = request.getfixturevalue("pg_database")
    schema_db = f"{base}_{uuid.uuid4().hex[:6]}"
    name = schema_db.rsplit("/", 1)[1]
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield schema_db
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'hotline.db'}"


def make_settings(tmp_path: Path, db_url: str, **kw: Any) -> Settings:
    base: dict[str, Any] = dict(
        var_dir=tmp_path / "var",
        database_url=db_url,
        ami_enabled=False,
        agi_enabled=False,
        session_secret="test-secret-" + uuid.uuid4().hex,
        http_port=0,
    )
    base.update(kw)
    return Settings(**base)


@asynccontextmanager
async def running_app(settings: Settings) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    from app.main import create_app

    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hotline.test") as client:
            yield app, client


@pytest.fixture
async def app_client(tmp_path: Path, db_url: str) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    async with running_app(make_settings(tmp_path, db_url)) as pair:
        yield pair


async def add_user(app: Any, username: str, role: str, password: str = "correct-horse-42", **kw: Any) -> None:
    from app.auth.models import Role
    from app.auth.schemas import UserCreate
    from app.auth.service import create_user

    async with app.state.runtime.db.sessionmaker() as s:
        await create_user(s, UserCreate(username=username, password=password, role=Role(role), **kw))
        await s.commit()


async def login(
    client: httpx.AsyncClient, username: str, password: str = "correct-horse-42"
) -> dict[str, str]:
    r = await client.post("/api/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


@pytest.fixture
def user_factory() -> Callable[..., Any]:
    async def make(
        app: Any, client: httpx.AsyncClient, username: str, role: str, **kw: Any
    ) -> dict[str, str]:
        await add_user(app, username, role, **kw)
        return await login(client, username)

    return make


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
