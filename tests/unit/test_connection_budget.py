"""`hotline run` warns when its processes could open more PostgreSQL connections than the server allows."""

from __future__ import annotations

from app.db import MAX_OVERFLOW, POOL_SIZE
from app.pg import connection_budget
from app.settings import Settings


def test_the_defaults_fit_two_workers_and_two_fastagi_processes_in_a_default_postgresql() -> None:
    s = Settings()
    assert (s.db_pool_size, s.db_max_overflow) == (POOL_SIZE, MAX_OVERFLOW)
    http, agi = s.db_pool_size + s.db_max_overflow, s.agi_db_pool_size + s.agi_db_max_overflow
    assert connection_budget([(2, http), (s.agi_processes, agi)], 100) is None  # 2 x 30 + 2 x 10


def test_too_many_processes_for_the_server_are_named_with_the_settings_to_change() -> None:
    warning = connection_budget([(3, 30), (2, 10)], 100)
    assert warning is not None
    assert (
        "3 x 30 + 2 x 10 = 110" in warning and "allows 100" in warning and "HOTLINE_DB_POOL_SIZE" in warning
    )
    assert connection_budget([(2, 30), (2, 10)], 100) is None  # 80 fit
