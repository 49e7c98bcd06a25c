"""The hot-topic map, pure: Yunnan's 16 prefectures as a tile-grid cartogram (示意图, one equal square
per prefecture placed roughly where it lies; not real boundaries, and labelled so on the page), each
tile carrying the strength of the day's bursts there (the largest deviation z, in σ) and their count."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

#: platform code -> (column, row), west to east and north to south.
GRID: dict[str, tuple[int, int]] = {
    "diqing": (1, 0), "lijiang": (2, 0), "zhaotong": (4, 0),
    "nujiang": (0, 1), "dali": (1, 1), "chuxiong": (2, 1), "kunming": (3, 1), "qujing": (4, 1),
    "dehong": (0, 2), "baoshan": (1, 2), "yuxi": (2, 2), "honghe": (3, 2), "wenshan": (4, 2),
    "lincang": (1, 3), "puer": (2, 3),
    "xishuangbanna": (2, 4),
}  # fmt: skip


def tiles(
    names: dict[str, str], bursts: Iterable[dict[str, Any]], scope: tuple[str, ...] | None = None
) -> list[dict[str, Any]]:
    """One tile per prefecture of the grid: its Chinese name, place, whether the user's scope covers
    it, the number of bursts, their strongest deviation (0 when none) and the strongest burst's term."""
    out = []
    by_place: dict[str, list[dict[str, Any]]] = {}
    for b in bursts:
        by_place.setdefault(b["prefecture"], []).append(b)
    for code, (col, row) in GRID.items():
        found = sorted(by_place.get(code, []), key=lambda b: -float(b["z"]))
        out.append(
            {
                "prefecture": code,
                "label": names.get(code, code),
                "col": col,
                "row": row,
                "in_scope": scope is None or code in scope,
                "bursts": len(found),
                "strength": float(found[0]["z"]) if found else 0.0,
                "term": found[0]["term"] if found else None,
            }
        )
    return out
