"""What an operator reads in each process's log after a holiday file is loaded: the years covered, as
runs (the library's 2004–2026 would otherwise be 23 numbers)."""

from app.runtime import year_ranges


def test_covered_years_are_logged_as_runs() -> None:
    years = set(range(2004, 2027)) | {2098, 2099, 2101}
    assert year_ranges(years) == "2004–2026, 2098–2099, 2101"
    assert year_ranges({2027}) == "2027"
