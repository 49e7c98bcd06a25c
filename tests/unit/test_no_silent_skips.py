"""The suite never skips silently: a test that needs a real part declares it with
``@pytest.mark.needs(...)`` (tests/resources.py), so that a missing part is a failure in CI and a skip
only where a developer opted out. This guard keeps ``skipif`` / ``pytest.skip`` / ``importorskip``
out of the tests."""

from __future__ import annotations

import re
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
FORBIDDEN = re.compile(r"pytest\.mark\.skipif|pytest\.skip\(|importorskip\(|mark\.skip\b")
ALLOWED = {TESTS / "resources.py", Path(__file__).resolve()}


def test_no_test_skips_on_its_own():
    found = [
        f"{p.relative_to(TESTS.parent)}:{n}: {line.strip()}"
        for p in sorted(TESTS.rglob("*.py"))
        if p not in ALLOWED
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if FORBIDDEN.search(line)
    ]
    assert not found, (
        "tests must not skip on their own; declare the real part with @pytest.mark.needs(...) "
        "(tests/resources.py) so CI fails when it is missing:\n" + "\n".join(found)
    )
