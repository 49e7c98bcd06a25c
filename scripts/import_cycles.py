"""Measure package-level import cycles and cross-package file pairs (uses grimp, as import-linter does).

Units: the edge/pure top-level packages (callflow, ivr, agi_handlers, recordings, asterisk_conf) and
each first-level module or package of app (app.cases, app.runtime, ...). Prints the cycles (strongly
connected components of more than one unit) and, for every pair of top-level packages, how many
(importer file, imported file) pairs cross between them.

    .venv/bin/python scripts/import_cycles.py
"""

from __future__ import annotations

import sys
from collections import Counter, defaultdict

import grimp

TOP = ["callflow", "ivr", "agi_handlers", "recordings", "asterisk_conf", "app"]


def unit(module: str) -> str:
    parts = module.split(".")
    if parts[0] == "app" and len(parts) > 1:
        return ".".join(parts[:2])
    return parts[0]


def sccs(nodes: set[str], edges: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return out


def main() -> int:
    graph = grimp.build_graph(*TOP, include_external_packages=False, cache_dir=None)
    edges: dict[str, set[str]] = defaultdict(set)
    nodes: set[str] = set()
    pairs: Counter[tuple[str, str]] = Counter()
    for importer in graph.modules:
        for imported in graph.find_modules_directly_imported_by(importer):
            a, b = unit(importer), unit(imported)
            nodes.update((a, b))
            if a != b:
                edges[a].add(b)
            ta, tb = importer.split(".")[0], imported.split(".")[0]
            if ta != tb:
                pairs[(ta, tb)] += 1
    cycles = [c for c in sccs(nodes, edges) if len(c) > 1]
    print(f"package-level import cycles: {len(cycles)}")
    for c in cycles:
        print("  {" + ", ".join(c) + "}")
    print("cross-package file pairs (importer -> imported):")
    for (a, b), n in sorted(pairs.items()):
        print(f"  {a} -> {b}: {n}")
    return 1 if cycles else 0


if __name__ == "__main__":
    raise SystemExit(main())
