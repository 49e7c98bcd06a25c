"""`hotline` command line: run the hotline, place simulated calls, check routing, administer."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from app.settings import Settings, get_settings


def _route(args: argparse.Namespace, settings: Settings) -> int:
    from callflow import CallContext, decide, load_config

    cfg = load_config(settings.platform_config, holiday_dir=settings.holiday_dir)
    if args.at:
        try:
            now = datetime.fromisoformat(args.at)
        except ValueError:
            print(f"--at: not an ISO-8601 time: {args.at!r}", file=sys.stderr)
            return 2
        if now.tzinfo is None:
            print("--at needs an explicit offset, e.g. 2026-11-26T09:30+08:00", file=sys.stderr)
            return 2
    else:
        now = datetime.now(UTC)
    d = decide(CallContext(caller_id=args.caller or None, trunk=args.trunk), now, cfg)
    out = d.to_dict() | {"at": now.astimezone(cfg.zone).isoformat()}
    if args.json:
        print(json.dumps(out, ensure_ascii=False))
    else:
        where = d.queue if d.route == "queue" else d.mailbox
        print(f"{args.caller or '(anonymous)'} → {d.platform} / {d.route} {where}  ({d.reason})")
        for w in d.warnings:
            print(f"warning: {w}")
    return 0


def _call(args: argparse.Namespace, settings: Settings) -> int:
    from app.simcall import place_call

    server = settings.asterisk[0]
    res = asyncio.run(
        place_call(
            server, args.caller, trunk=args.trunk, timeout=args.timeout, hangup=not args.keep, audio=args.play
        )
    )
    if args.json:
        print(json.dumps(res.to_dict(), ensure_ascii=False))
    else:
        where = res.queue if res.route != "voicemail" else res.mailbox
        print(
            f"{res.uniqueid}: {res.caller or '(anonymous)'} → {res.platform} {res.route} {where} "
            f"(agi {res.agi_ms} ms){'  ERROR ' + res.error if res.error else ''}"
        )
    return 0 if res.reached else 1


def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    from app.migrate import upgrade

    upgrade(settings.database_url)
    print(f"database at {settings.database_url.split('@')[-1]} is up to date")
    return 0


def _user(args: argparse.Namespace, settings: Settings) -> int:
    from app.auth.models import Role
    from app.auth.schemas import UserCreate
    from app.auth.service import AuthError, create_user
    from app.db import Database
    from app.migrate import upgrade

    upgrade(settings.database_url)

    async def go() -> int:
        db = Database(settings.database_url)
        try:
            async with db.sessionmaker() as s:
                u = await create_user(
                    s,
                    UserCreate(
                        username=args.username,
                        password=args.password,
                        role=Role(args.role),
                        platform=args.platform,
                        unit_code=args.unit,
                        sip_endpoint=args.sip,
                        display_name=args.name or args.username,
                    ),
                )
                await s.commit()
                print(f"created {u.role.value} {u.username} (platform {u.platform})")
                return 0
        except AuthError as e:
            print(str(e), file=sys.stderr)
            return 1
        finally:
            await db.dispose()

    return asyncio.run(go())


def _calendar(args: argparse.Namespace, settings: Settings) -> int:
    from callflow import WorkCalendar

    assert settings.holiday_dir is not None
    if args.action == "load":
        text = Path(args.file).read_text(encoding="utf-8")
        try:
            saved = WorkCalendar(settings.holiday_dir).save_admin_file(text, settings.holiday_dir)
        except ValueError as e:
            print(f"rejected: {e}", file=sys.stderr)
            return 1
        print(
            f"calendar for {saved.stem} loaded: {saved} (a running service picks it up on restart, "
            "or upload it through POST /api/admin/calendar)"
        )
        return 0
    cal = WorkCalendar(settings.holiday_dir)
    print("covered years:", ", ".join(map(str, sorted(cal.covered_years()))))
    for w in cal.coverage_warnings(datetime.now(UTC).date()):
        print("WARNING:", w)
    return 0


def _transcribe(args: argparse.Namespace, settings: Settings) -> int:
    from recordings.stt import EngineUnavailable, make_engine
    from recordings.transcribe_cli import run

    name = args.engine or settings.stt_engine
    try:
        engine = make_engine(
            name,
            whisper_model_path=settings.whisper_model_path,
            vosk_model_path=settings.vosk_model_path,
            threads=settings.stt_threads,
        )
    except EngineUnavailable as e:
        print(str(e), file=sys.stderr)
        return 2
    return run(args.files, engine, args.json)


def _transcribe_pending(args: argparse.Namespace, settings: Settings) -> int:
    import asyncio

    from recordings.worker import transcribe_pending

    return asyncio.run(transcribe_pending(settings, engine=args.engine, failed=not args.pending_only))


def _purge_recordings(args: argparse.Namespace, settings: Settings) -> int:
    import asyncio

    from recordings.worker import purge_recordings

    return asyncio.run(purge_recordings(settings, args.days, dry_run=args.dry_run))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="hotline", description="Hotline 12345 contact-center backend")
    sub = p.add_subparsers(dest="cmd", required=True)

    r = sub.add_parser("route", help="show the routing decision for a caller (pure; no Asterisk)")
    r.add_argument("--from", dest="caller", default="", help="caller number as Asterisk would give it")
    r.add_argument("--trunk", default=None)
    r.add_argument("--at", default=None, help="ISO-8601 time with offset (default: now)")
    r.add_argument("--json", action="store_true")
    r.set_defaults(fn=_route)

    c = sub.add_parser("call", help="place a simulated inbound call through the running Asterisk")
    c.add_argument("--from", dest="caller", default="")
    c.add_argument("--trunk", default=None)
    c.add_argument("--play", default=None, help="audio file (no extension) the simulated caller plays")
    c.add_argument("--timeout", type=float, default=20.0)
    c.add_argument("--keep", action="store_true", help="leave the call up (default: hang up once routed)")
    c.add_argument("--json", action="store_true")
    c.set_defaults(fn=_call)

    run = sub.add_parser("run", help="run the hotline: sandbox Asterisk + backend")
    run.add_argument("--no-asterisk", action="store_true", help="use an already running Asterisk")
    run.set_defaults(fn=lambda a, s: __import__("app.runner", fromlist=["run"]).run(a, s))

    m = sub.add_parser("migrate", help="apply database migrations")
    m.set_defaults(fn=_migrate)

    u = sub.add_parser("user", help="create a user")
    u.add_argument("username")
    u.add_argument("--password", required=True)
    u.add_argument("--role", required=True, choices=["agent", "supervisor", "unit", "admin"])
    u.add_argument("--platform", default="province")
    u.add_argument("--unit", default=None)
    u.add_argument("--sip", default=None, help="agent's PJSIP endpoint")
    u.add_argument("--name", default=None)
    u.set_defaults(fn=_user)

    cal = sub.add_parser("calendar", help="holiday calendar: show coverage or load a year's file")
    cal.add_argument("action", choices=["show", "load"])
    cal.add_argument("file", nargs="?")
    cal.set_defaults(fn=_calendar)

    t = sub.add_parser("transcribe", help="transcribe audio files (progress bar on stderr)")
    t.add_argument("files", nargs="+")
    t.add_argument("--engine", choices=["whisper", "vosk"], default=None)
    t.add_argument("--json", action="store_true")
    t.set_defaults(fn=_transcribe)

    tp = sub.add_parser("transcribe-pending", help="transcribe pending and failed voicemail (progress bar)")
    tp.add_argument("--engine", choices=["whisper", "vosk"], default=None)
    tp.add_argument("--pending-only", action="store_true", help="leave failed and empty messages alone")
    tp.set_defaults(fn=_transcribe_pending)

    pr = sub.add_parser("purge-recordings", help="delete voicemail audio older than the retention period")
    pr.add_argument("--days", type=int, default=None, help="default: recording_retention_days")
    pr.add_argument("--dry-run", action="store_true", help="only count")
    pr.set_defaults(fn=_purge_recordings)

    args = p.parse_args(argv)
    if args.cmd == "calendar" and args.action == "load" and not args.file:
        p.error("calendar load needs FILE")
    return int(args.fn(args, get_settings()))


if __name__ == "__main__":
    raise SystemExit(main())
