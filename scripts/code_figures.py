"""Two code figures for issue 9, by `ast` (no imports of the project):

- the longest functions (name, file, lines)
- `.commit()` calls outside boundaries (see tests/unit/test_commit_boundaries.py for the rule)

Usage: python scripts/code_figures.py [ROOT]   (ROOT defaults to the repository)
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from tests.unit.test_commit_boundaries import PACKAGES, _boundary  # noqa: E402  (the one rule)


def modules(root: Path) -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (root / pkg).rglob("*.py") if ".venv" not in p.parts)


def functions(root: Path) -> list[tuple[int, str, str]]:
    out = []
    for p in modules(root):
        tree = ast.parse(p.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                n = (node.end_lineno or node.lineno) - node.lineno + 1
                out.append((n, node.name, str(p.relative_to(root))))
    return sorted(out, reverse=True)


def commit_sites(root: Path) -> list[tuple[str, int]]:
    sites = []
    for p in modules(root):
        tree = ast.parse(p.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "commit"
                and not node.args
            ):
                sites.append((str(p.relative_to(root)), node.lineno))
    return sites


def main() -> None:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO
    print("longest functions:")
    for n, name, path in functions(root)[:5]:
        print(f"  {n:4d} lines  {name}  ({path})")
    sites = commit_sites(root)
    outside = [s for s in sites if not _boundary(s[0])]
    files = {f for f, _ in sites}
    print(f"commit sites: {len(sites)} in {len(files)} files; outside boundary modules: {len(outside)}")
    for f, line in outside:
        print(f"  {f}:{line}")


if __name__ == "__main__":
    main()
