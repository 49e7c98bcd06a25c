"""`hotline user …`: create, list, disable, enable, reset-password. Passwords never on the command line
(a prompt, --password-stdin, or HOTLINE_NEW_PASSWORD for automation); unknown platforms and units are
refused; a user's platform is always explicit (--all-platforms for province-wide supervisors and
administrators); every mistake is a clear message and a non-zero exit, never a traceback."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from typing import Any

from app.settings import Settings

PASSWORD_ENV = "HOTLINE_NEW_PASSWORD"


class CliError(Exception):
    pass


def read_password(args: argparse.Namespace, settings: Settings) -> str:
    from app.auth.schemas import PASSWORD_MIN

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif settings.new_password:
        password = settings.new_password
    elif sys.stdin.isatty():
        password = getpass.getpass("新密码 / new password: ")
        if getpass.getpass("再输入一次 / again: ") != password:
            raise CliError("the two passwords differ")
    else:
        raise CliError(f"no password given: use --password-stdin, {PASSWORD_ENV}, or run in a terminal")
    if len(password) < PASSWORD_MIN:
        raise CliError(f"password too short: at least {PASSWORD_MIN} characters")
    if len(password) > 256:
        raise CliError("password too long: at most 256 characters")
    return password


async def _with_session(settings: Settings, work: Any) -> int:
    from app.db import Database

    db = Database(settings.database_url)
    try:
        async with db.sessionmaker() as s:
            return int(await work(s))
    finally:
        await db.dispose()


def _create(args: argparse.Namespace, settings: Settings) -> int:
    from pydantic import ValidationError

    from app.auth.models import Role
    from app.auth.schemas import UserCreate
    from app.auth.scope import use_config
    from app.auth.service import AuthError, create_user
    from app.units.service import get_unit
    from callflow import load_config

    role = Role(args.role)
    if args.all_platforms and args.platform:
        raise CliError("give either --platform or --all-platforms")
    cfg = load_config(settings.platform_config, holiday_dir=settings.holiday_dir)
    use_config(cfg)
    provincial = cfg.province_platform.code
    if args.all_platforms:
        if role not in (Role.supervisor, Role.admin):
            raise CliError("--all-platforms is for supervisors and administrators; give --platform")
        platform = provincial
    elif args.platform:
        platform = args.platform
    else:
        raise CliError("--platform CODE is required (or --all-platforms for a province-wide supervisor/admin)")
    try:
        cfg.platform(platform)
    except KeyError:
        known = ", ".join(p.code for p in cfg.platforms)
        raise CliError(f"unknown platform {platform!r} (known: {known})") from None
    if role is Role.unit and not args.unit:
        raise CliError("a unit handler needs --unit CODE")
    password = read_password(args, settings)
    try:
        data = UserCreate(
            username=args.username, password=password, role=role, platform=platform, unit_code=args.unit,
            sip_endpoint=args.sip, display_name=args.name or args.username,
            must_change_password=args.must_change,
        )  # fmt: skip
    except ValidationError as e:
        raise CliError("; ".join(f"{'.'.join(map(str, x['loc']))}: {x['msg']}" for x in e.errors())) from None

    async def work(s: Any) -> int:
        if data.unit_code and await get_unit(s, data.unit_code) is None:
            raise CliError(f"unknown unit {data.unit_code!r} (create it first: POST /api/units)")
        try:
            u = await create_user(s, data)
        except AuthError as e:
            raise CliError(str(e)) from None
        await s.commit()
        scope = "every platform" if u.platform == provincial else f"platform {u.platform}"
        print(f"created {u.role.value} {u.username} ({scope})")
        return 0

    return asyncio.run(_with_session(settings, work))


def _list(args: argparse.Namespace, settings: Settings) -> int:
    from sqlalchemy import select

    from app.auth.models import User

    async def work(s: Any) -> int:
        users = list(await s.scalars(select(User).order_by(User.username)))
        print(f"{'username':24} {'role':10} {'platform':12} {'unit':16} state")
        for u in users:
            state = ("active" if u.active else "disabled") + (", must change password" if u.must_change_password else "")
            print(f"{u.username:24} {u.role.value:10} {u.platform:12} {u.unit_code or '-':16} {state}")
        return 0

    return asyncio.run(_with_session(settings, work))


def _change(args: argparse.Namespace, settings: Settings) -> int:
    from sqlalchemy import func, select

    from app.auth import service
    from app.auth.models import Role, User

    password = read_password(args, settings) if args.action == "reset-password" else None

    async def work(s: Any) -> int:
        user = await s.scalar(select(User).where(User.username == args.username))
        if user is None:
            raise CliError(f"no user {args.username!r}")
        if args.action == "disable":
            admins = await s.scalar(
                select(func.count()).select_from(User).where(User.role == Role.admin, User.active.is_(True))
            )
            if user.role is Role.admin and user.active and (admins or 0) <= 1:
                raise CliError("the last active administrator cannot be disabled")
            user.active = False
            service.end_sessions(user)
            msg = f"disabled {user.username}; every session of the user has ended"
        elif args.action == "enable":
            user.active = True
            msg = f"enabled {user.username}"
        else:
            assert password is not None
            await service.set_password(user, password, must_change=args.must_change)
            msg = f"password of {user.username} reset; sessions ended" + (
                "; must be changed at next login" if args.must_change else ""
            )
        await s.commit()
        print(msg)
        return 0

    return asyncio.run(_with_session(settings, work))


def run(args: argparse.Namespace, settings: Settings) -> int:
    from app.migrate import upgrade

    try:
        upgrade(settings.database_url)
        fn = {"create": _create, "list": _list}.get(args.action, _change)
        return fn(args, settings)
    except CliError as e:
        print(f"hotline user {args.action}: {e}", file=sys.stderr)
        return 2


def add_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    u = sub.add_parser("user", help="user administration: create, list, disable, enable, reset-password")
    us = u.add_subparsers(dest="action", required=True)

    def password_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--password-stdin", action="store_true",
                       help=f"read the password from the first line of stdin (else {PASSWORD_ENV}, else a prompt)")

    c = us.add_parser("create", help="create a user (the password is prompted for, never an argument)")
    c.add_argument("username")
    c.add_argument("--role", required=True, choices=["agent", "supervisor", "unit", "admin"])
    c.add_argument("--platform", default=None, help="platform code the user belongs to (e.g. kunming)")
    c.add_argument("--all-platforms", action="store_true",
                   help="province-wide: sees every platform (supervisors and administrators only)")
    c.add_argument("--unit", default=None, help="unit code (unit handlers)")
    c.add_argument("--sip", default=None, help="agent's PJSIP endpoint")
    c.add_argument("--name", default=None, help="display name")
    c.add_argument("--must-change", action="store_true", help="the user must choose a new password at first login")
    password_options(c)
    us.add_parser("list", help="list users")
    for name, text in (("disable", "disable a user and end every session"), ("enable", "enable a user again")):
        d = us.add_parser(name, help=text)
        d.add_argument("username")
    r = us.add_parser("reset-password", help="set a new password (ends the user's sessions)")
    r.add_argument("username")
    r.add_argument("--no-must-change", dest="must_change", action="store_false",
                   help="do not ask the user to change it at next login")
    password_options(r)
    u.set_defaults(fn=run)
