"""Boundaries commit, services don't (docs/adr/0002-commit-then-publish.md).

Scans the code with ``ast``: a ``.commit()`` call is allowed only in a boundary module - one that
ends a unit of work started from outside (an HTTP route, an AGI route, the AMI consumer, a worker or
scheduler loop, a CLI command) - or in a module listed in EXPLICIT with the reason. Everything else
(``service.py``, queries, effects, helpers) flushes and returns; its caller commits, then publishes
(``app.events.commit_and_publish``)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("app", "agi_handlers", "recordings", "callflow", "ivr", "asterisk_conf")

# module file names that are boundaries wherever they are
BOUNDARY_STEMS = {
    "router": "HTTP routes",
    "pages": "HTTP pages",
    "agi": "an AGI route",
    "consumer": "the AMI event consumer",
    "component": "an event-driven component (its own sessions per event)",
    "lifecycle": "start-up/shut-down of a component",
    "worker": "a background worker loop",
    "jobs": "a background worker's job steps",
    "scheduler": "a scheduler loop",
    "cli": "a command-line command",
    "runner": "the process runner",
}
# packages whose every module is a boundary
BOUNDARY_PACKAGES = {"agi_handlers": "one module per AGI route (explicit route table)"}
# single modules, with the reason
EXPLICIT = {
    "app/events.py": "commit_and_publish itself",
    "app/migrations/env.py": "Alembic's migration transaction",
    "app/ops/backup.py": "hotline restore rewrites recording paths through sqlite3 (a CLI command)",
    "app/voicemail/orphans.py": "start-up job importing orphaned voicemail (one unit of work per file)",
    "app/telephony/shared.py": "the AMI leader's live-state writer, a worker loop of its own",
    "app/telephony/decisions.py": "the incoming AGI route's decision, written in a background task when no AMI consumer runs",
    "app/exchange/inbound.py": "a refused message's audit row, in its own transaction (the refused changes roll back)",
    "app/exchange/pulls.py": "HTTP routes: peers' signed pulls of statistics and knowledge",
    "app/exchange/knowledge_copies.py": "a pull of a peer's knowledge: each page's copies with the cursor after it, a worker loop of its own",
    "app/flood.py": "a flood counter hit: one upsert transaction per hit, so processes count exactly",
    "app/auth/throttle.py": "a login's failure or success counted in its own transaction under the row lock, whatever the login's outcome",
    "app/mail/reader.py": "the IMAP reader's job: one unit of work per mail, committed before it is flagged read",
    "app/callbacks/queued.py": "an event-driven component (queue call-back): its own session per event",
}
# Known violations being removed on another branch: each entry must still violate (so the list
# shrinks as they are fixed); never add to it.
PENDING: dict[str, str] = {}


def _commit_calls(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        n.lineno
        for n in ast.walk(tree)
        if isinstance(n, ast.Call)
        and isinstance(n.func, ast.Attribute)
        and n.func.attr == "commit"
        and not n.args
    ]


def _boundary(rel: str) -> bool:
    p = Path(rel)
    # a domain's second routes module is named for what it serves: skills_router.py
    kind = p.stem.rsplit("_", 1)[-1]
    return p.stem in BOUNDARY_STEMS or kind in ("router", "pages") or p.parts[0] in BOUNDARY_PACKAGES or rel in EXPLICIT


def _sites() -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            lines = _commit_calls(path)
            if lines:
                out[path.relative_to(ROOT).as_posix()] = lines
    return out


def test_only_boundaries_commit() -> None:
    bad = [f"{rel}:{line}" for rel, lines in _sites().items() if not _boundary(rel) and rel not in PENDING
           for line in lines]  # fmt: skip
    assert bad == [], (
        "these modules commit but are not boundaries: return the events/rows and let the route, AGI "
        f"route, worker or scheduler commit (app.events.commit_and_publish): {bad}"
    )


def test_pending_list_only_shrinks() -> None:
    sites = _sites()
    fixed = [rel for rel in PENDING if rel not in sites]
    assert fixed == [], f"{fixed} no longer commit: remove them from PENDING"


def test_the_scan_finds_a_commit() -> None:
    src = "async def f(session):\n    await session.commit()\n"
    tree = ast.parse(src)
    assert any(isinstance(n, ast.Call) and getattr(n.func, "attr", "") == "commit" for n in ast.walk(tree))
    assert not _boundary("app/cases/service.py") and _boundary("app/cases/router.py")
