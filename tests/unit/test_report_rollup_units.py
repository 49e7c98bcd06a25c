"""Pure parts of the report rollup and the hot-topic map."""

from datetime import date

from app.reports.hotmap import GRID, tiles
from app.reports.rollup import runs


def test_runs_split_a_range_into_rollup_and_raw_stretches():
    d = lambda n: date(2026, 10, n)  # noqa: E731
    clean = {d(1), d(2), d(3), d(5), d(7), d(8)}
    assert runs(d(1), d(9), clean, inside=True) == [(d(1), d(3)), (d(5), d(5)), (d(7), d(8))]
    assert runs(d(1), d(9), clean, inside=False) == [(d(4), d(4)), (d(6), d(6)), (d(9), d(9))]
    assert runs(d(1), d(9), set(), inside=True) == []


def test_map_tiles_are_the_16_prefectures_on_distinct_squares_with_their_strongest_burst():
    assert len(GRID) == 16 and len(set(GRID.values())) == 16
    bursts = [
        {"prefecture": "dali", "term": "古城", "z": 9.0},
        {"prefecture": "dali", "term": "洱海", "z": 12.5},
        {"prefecture": "province", "term": "x", "z": 3.0},  # not a prefecture: no tile
    ]
    out = {t["prefecture"]: t for t in tiles({"dali": "大理"}, bursts, ("dali",))}
    assert set(out) == set(GRID)
    assert (out["dali"]["label"], out["dali"]["bursts"], out["dali"]["strength"], out["dali"]["term"]) == (
        "大理", 2, 12.5, "洱海",
    )  # fmt: skip
    assert out["kunming"]["strength"] == 0.0 and out["kunming"]["in_scope"] is False
