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
    d = decide(CallContext(caller_id=args.caller or None, trunk=args.trunk, dnid=args.dnid), now, cfg)
    out = d.to_dict() | {"at": now.astimezone(cfg.zone).isoformat()}
    if args.json:
        print(json.dumps(out, ensure_ascii=False))
    else:
        where = d.queue if d.route == "queue" else d.mailbox
        print(f"{args.caller or '(anonymous)'} → {d.platform} / {d.route} {where}  ({d.reason})")
        extra = [f"skill {d.skill}"] if d.skill else []
        extra += [f"category {d.category}"] if d.category else []
        extra += [f"notice {d.notice}"] if d.notice else []
        print(f"dialled {d.dnid or '(none)'} → hotline {d.hotline} {d.hotline_name}" + "".join(f", {e}" for e in extra))
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


def _announce_calendar(settings: Settings, name: str) -> str:
    """Tells a running service on PostgreSQL (every process, FastAGI's included) to reload the calendar."""
    from app.bus import announce
    from app.events import CALENDAR_RELOADED, Event
    from app.pg import is_pg

    if not is_pg(settings.database_url):
        return "a running service picks it up on restart (or upload it through POST /api/admin/calendar)"
    try:
        asyncio.run(announce(settings.database_url, Event(CALENDAR_RELOADED, {"file": name})))
    except Exception as e:  # noqa: BLE001 - the file is saved; only the notice failed
        return f"the running service was not told ({type(e).__name__}); it picks the file up on restart"
    return "the running service was told: every process reloads the calendar now"


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
        print(f"calendar for {saved.stem} loaded: {saved}")
        print(_announce_calendar(settings, saved.name))
        return 0
    cal = WorkCalendar(settings.holiday_dir)
    print("covered years:", ", ".join(map(str, sorted(cal.covered_years()))))
    for w in cal.coverage_warnings(datetime.now(UTC).date()):
        print("WARNING:", w)
    return 0


def _transcribe(args: argparse.Namespace, settings: Settings) -> int:
    from recordings.stt import DisabledEngine, EngineUnavailable, engine_from_settings
    from recordings.transcribe_cli import run

    try:
        engine = engine_from_settings(settings, args.engine)
    except EngineUnavailable as e:
        print(str(e), file=sys.stderr)
        return 2
    if isinstance(engine, DisabledEngine):
        print(f"no speech model to transcribe with: {engine.reason}", file=sys.stderr)
        return 2
    return run(args.files, engine, args.json)


def _models(args: argparse.Namespace, settings: Settings) -> int:
    from recordings.models_fetch import MODELS, FetchError, fetch
    from recordings.stt.locate import choose_from_settings

    assert settings.models_dir is not None
    if args.action == "list":
        for name, spec in MODELS.items():
            where = settings.models_dir / spec.dirname
            print(f"{name}\t{'installed' if where.exists() else 'not installed'}\t{where}\t{spec.licence}")
        print(f"stt_engine={settings.stt_engine}: {choose_from_settings(settings).reason}")
        return 0
    if not args.names:
        print(f"name the model(s) to fetch: {', '.join(MODELS)}", file=sys.stderr)
        return 2
    failed = 0
    for name in args.names:
        try:
            path = fetch(name, settings.models_dir, mirror=args.mirror, force=args.force)
        except FetchError as e:
            failed += 1
            print(f"{name}: {e}", file=sys.stderr)
            continue
        print(f"{name}: installed and verified in {path}")
    if not failed:
        print(f"stt_engine={settings.stt_engine}: {choose_from_settings(settings).reason}")
    return 1 if failed else 0


def _transcribe_pending(args: argparse.Namespace, settings: Settings) -> int:
    import asyncio

    from app.voicemail.lifecycle import transcribe_pending

    return asyncio.run(transcribe_pending(settings, engine=args.engine, failed=not args.pending_only))


def _purge_recordings(args: argparse.Namespace, settings: Settings) -> int:
    import asyncio

    from app.voicemail.lifecycle import purge_recordings

    return asyncio.run(purge_recordings(settings, args.days, dry_run=args.dry_run))


def main(argv: list[str] | None = None) -> int:
    from app.ops import hotline_version

    p = argparse.ArgumentParser(prog="hotline", description="Hotline 12345 contact-center backend")
    p.add_argument("--version", action="version", version=f"hotline {hotline_version()}")
    sub = p.add_subparsers(dest="cmd", required=True)

    r = sub.add_parser("route", help="show the routing decision for a caller (pure; no Asterisk)")
    r.add_argument("--from", dest="caller", default="", help="caller number as Asterisk would give it")
    r.add_argument("--trunk", default=None)
    r.add_argument("--dnid", default="12345", help="the dialled number (DID) as the trunk delivers it (并号)")
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
    run.add_argument(
        "--workers", type=int, default=1,
        help="HTTP worker processes (PostgreSQL only; FastAGI then runs in a process of its own)",
    )  # fmt: skip
    run.set_defaults(fn=lambda a, s: __import__("app.runner", fromlist=["run"]).run(a, s))

    m = sub.add_parser("migrate", help="apply database migrations")
    m.set_defaults(fn=_migrate)

    agi = sub.add_parser("agi", help="serve FastAGI in a process of its own (PostgreSQL)")
    agi.set_defaults(fn=lambda a, s: __import__("app.agi_main", fromlist=["main"]).main(s))

    http = sub.add_parser("http", help="serve HTTP with N worker processes, without FastAGI (PostgreSQL)")
    http.add_argument("--workers", type=int, default=2)
    http.set_defaults(fn=lambda a, s: __import__("app.cluster", fromlist=["serve_http"]).serve_http(s, a.workers))

    from app.users.cli import add_commands as add_user_commands

    add_user_commands(sub)

    cal = sub.add_parser("calendar", help="holiday calendar: show coverage or load a year's file")
    cal.add_argument("action", choices=["show", "load"])
    cal.add_argument("file", nargs="?")
    cal.set_defaults(fn=_calendar)

    t = sub.add_parser("transcribe", help="transcribe audio files (progress bar on stderr)")
    t.add_argument("files", nargs="+")
    t.add_argument("--engine", choices=["auto", "vosk", "whisper", "combo"], default=None)
    t.add_argument("--json", action="store_true")
    t.set_defaults(fn=_transcribe)

    mo = sub.add_parser(
        "models", help="speech models: list, or fetch from the official source (sha256 checked)"
    )
    mo.add_argument("action", choices=["list", "fetch"])
    mo.add_argument("names", nargs="*", help="vosk-small-cn, whisper-base")
    mo.add_argument(
        "--mirror", default=None, help="base URL serving the same file names (official sha256 kept)"
    )
    mo.add_argument("--force", action="store_true", help="replace an installed model")
    mo.set_defaults(fn=_models)

    tp = sub.add_parser("transcribe-pending", help="transcribe pending and failed voicemail (progress bar)")
    tp.add_argument("--engine", choices=["auto", "vosk", "whisper", "combo"], default=None)
    tp.add_argument("--pending-only", action="store_true", help="leave failed and empty messages alone")
    tp.set_defaults(fn=_transcribe_pending)

    pr = sub.add_parser("purge-recordings", help="delete voicemail audio older than the retention period")
    pr.add_argument("--days", type=int, default=None, help="default: recording_retention_days")
    pr.add_argument("--dry-run", action="store_true", help="only count")
    pr.set_defaults(fn=_purge_recordings)

    from app.ops.backup_cli import add_commands as add_backup_commands

    add_backup_commands(sub)
    from app.ops.asterisk_cli import add_commands as add_asterisk_commands

    add_asterisk_commands(sub)

    args = p.parse_args(argv)
    if args.cmd == "calendar" and args.action == "load" and not args.file:
        p.error("calendar load needs FILE")
    try:
        return int(args.fn(args, get_settings()))
    except FileNotFoundError as e:
        print(f"hotline {args.cmd}: no such file: {e.filename}", file=sys.stderr)
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as e:
        print(f"hotline {args.cmd}: cannot read {getattr(e, 'filename', None) or 'the file'}: {e}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
