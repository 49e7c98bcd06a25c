"""`hotline run`: a sandbox Asterisk on 127.0.0.1 plus the backend (HTTP + FastAGI + AMI) in one process,
or with ``--workers N`` on PostgreSQL, N HTTP workers and a FastAGI process (app.cluster)."""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import signal
import sys

import uvicorn

from app.settings import Settings, ensure_secret


async def _ensure_admin(settings: Settings) -> str | None:

    from sqlalchemy import select

    from app.auth.models import Role, User
    from app.auth.schemas import UserCreate
    from app.auth.service import create_user
    from app.db import Database
    from callflow import load_config

    db = Database(settings.database_url)
    try:
        async with db.sessionmaker() as s:
            if await s.scalar(select(User).where(User.role == Role.admin)) is not None:
                return None
            password = settings.admin_password or secrets.token_urlsafe(12)
            provincial = load_config(
                settings.platform_config, holiday_dir=settings.holiday_dir
            ).province_platform
            await create_user(
                s, UserCreate(username="admin", password=password, role=Role.admin, platform=provincial.code)
            )
            await s.commit()
            return password
    finally:
        await db.dispose()


def run(args: argparse.Namespace, settings: Settings) -> int:
    from app.main import create_app
    from app.migrate import upgrade
    from app.observability.logging import configure_logging
    from app.pg import is_pg
    from asterisk_conf.render import RenderParams, SipAgent
    from asterisk_conf.sandbox import Sandbox, SandboxError
    from callflow import load_config

    configure_logging(settings.log_format, settings.log_level)
    if args.workers < 1:
        print("hotline run: --workers must be 1 or more", file=sys.stderr)
        return 2
    if args.workers > 1 and not is_pg(settings.database_url):
        print(
            "hotline run: --workers > 1 needs PostgreSQL (HOTLINE_DATABASE_URL=postgresql+asyncpg://…): "
            "SQLite is the embedded single-process default. Run without --workers, or move to "
            "PostgreSQL (docs/operations.md)",
            file=sys.stderr,
        )
        return 2
    # everything this process creates (database, secrets, recordings, sandbox config) is private
    os.umask(0o077)
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    settings.var_dir.chmod(0o700)
    server = settings.asterisk[0]
    if not server.ami_secret:
        server.ami_secret = ensure_secret(settings.var_dir, f"ami_secret_{server.name}")
    if not server.agi_secret:
        server.agi_secret = ensure_secret(settings.var_dir, f"agi_secret_{server.name}")
    settings.session_secret = ensure_secret(settings.var_dir, "session_secret")
    upgrade(settings.database_url)
    admin_pw = asyncio.run(_ensure_admin(settings))
    if is_pg(settings.database_url):
        from app.pg import connection_budget, max_connections

        agi = settings.agi_processes if args.workers > 1 else 0  # one process serves FastAGI itself
        warning = connection_budget(
            [(args.workers, settings.db_pool_size + settings.db_max_overflow),
             (agi, settings.agi_db_pool_size + settings.agi_db_max_overflow)],
            asyncio.run(max_connections(settings.database_url)),
        )  # fmt: skip
        if warning:
            print(f"hotline run: warning: {warning}", file=sys.stderr)

    sandbox = None
    if not args.no_asterisk and server.cdr_csv is None and settings.sandbox_dir is not None:
        server.cdr_csv = settings.sandbox_dir / "log" / "cdr-csv" / "Master.csv"
    if not args.no_asterisk and server.recordings_dir is None and settings.sandbox_dir is not None:
        server.recordings_dir = settings.sandbox_dir / "monitor"  # RenderParams' default
    if not args.no_asterisk:
        cfg = load_config(settings.platform_config, holiday_dir=settings.holiday_dir)
        assert settings.sandbox_dir is not None
        sandbox = Sandbox(
            cfg,
            RenderParams(
                base_dir=settings.sandbox_dir,
                ami_port=server.ami_port,
                ami_user=server.ami_user,
                ami_secret=server.ami_secret,
                agi_secret=server.agi_secret,
                agi_host=settings.agi_host,
                agi_port=settings.agi_port,
                sip_port=settings.sip_port,
                server_name=server.name,
                voicemail_max_s=settings.voicemail_max_s,
                agents=[SipAgent(a.endpoint, a.password) for a in settings.sip_agents],
            ),
        )
        try:
            sandbox.start()
        except SandboxError as e:
            print(f"cannot start the sandbox Asterisk: {e}", file=sys.stderr)
            return 1
    print("Hotline 12345 is running:")
    print(
        f"  web/API   http://{settings.http_host}:{settings.http_port}/  (docs at /docs, health at /health)"
    )
    print(f"  FastAGI   {settings.agi_host}:{settings.agi_port}")
    print(f"  AMI       {server.ami_host}:{server.ami_port} (user {server.ami_user})")
    if sandbox is not None:
        print(
            f"  Asterisk  pid {sandbox.pid}, SIP udp 127.0.0.1:{settings.sip_port}, config {settings.sandbox_dir}/etc"
        )
    if settings.sip_agents:
        print(
            f"  softphones {', '.join(a.endpoint for a in settings.sip_agents)} register to 127.0.0.1:{settings.sip_port}"
        )
    else:
        print(
            '  softphones none configured (HOTLINE_SIP_AGENTS=\'[{"endpoint": "agent-1001", "password": "…"}]\')'
        )
    print(f"  database  {settings.database_url}")
    if admin_pw:
        print(
            f"  admin     user 'admin', password '{admin_pw}' (shown once; set HOTLINE_ADMIN_PASSWORD to choose)"
        )
    print("  try:      hotline call --from 13987112345 --json")
    sys.stdout.flush()

    def _exit(signum: int, _frame: object) -> None:
        raise SystemExit(0)

    # uvicorn re-raises the signal it caught after shutting down; with this handler in place that
    # becomes SystemExit, so the `finally` below still stops the sandbox Asterisk by its PID.
    signal.signal(signal.SIGTERM, _exit)
    signal.signal(signal.SIGINT, _exit)
    if args.workers > 1:
        from app.cluster import Supervisor

        try:
            return Supervisor(settings, args.workers).run()
        finally:
            if sandbox is not None:
                sandbox.stop()
    try:
        uvicorn.run(
            create_app(settings), host=settings.http_host, port=settings.http_port,
            log_config=None, access_log=False,  # app.observability.logging writes the access lines, without query strings
        )  # fmt: skip
    finally:
        if sandbox is not None:
            sandbox.stop()
    return 0
