"""Reports' daily rollup: report_call_days, report_case_days, report_rollup_days, report_dirty and the
triggers that record, in the writer's transaction, which days a write to calls, cases or a case's
'return' event touches (docs/adr/report-rollup.md)

Revision ID: 0023_report_rollup
Revises: 0022_agent_skills
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.db import UTCDateTime

revision: str = "0023_report_rollup"
down_revision: str | Sequence[str] | None = "0022_agent_skills"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CALL_INTS = ("offered", "answered", "within_15s", "abandoned")
CASE_INTS = (
    "cases", "direct", "finished", "on_time", "rated", "satisfied", "dispatched", "returned", "extended",
    "repeat",
)  # fmt: skip
#: A case's acceptance time or number changing, or a case appearing or going, changes whether the cases
#: of the next REPEAT_WINDOW_DAYS (30) are repeat contacts.
SPAN = 30

PG = f"""
CREATE FUNCTION report_dirty_calls() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'DELETE' THEN
    INSERT INTO report_dirty (at, span_days) SELECT DISTINCT date_trunc('hour', arrived_at), 0 FROM new_rows;
  END IF;
  IF TG_OP <> 'INSERT' THEN
    INSERT INTO report_dirty (at, span_days) SELECT DISTINCT date_trunc('hour', arrived_at), 0 FROM old_rows;
  END IF;
  RETURN NULL;
END $$;
CREATE FUNCTION report_dirty_cases() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO report_dirty (at, span_days) SELECT DISTINCT date_trunc('hour', created_at), {SPAN} FROM new_rows;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO report_dirty (at, span_days) SELECT DISTINCT date_trunc('hour', created_at), {SPAN} FROM old_rows;
  ELSE
    INSERT INTO report_dirty (at, span_days)
    SELECT DISTINCT date_trunc('hour', x.at), x.span FROM (
      SELECT n.created_at AS at, o.created_at AS old_at,
             CASE WHEN o.citizen_phone IS DISTINCT FROM n.citizen_phone OR o.created_at <> n.created_at
                  THEN {SPAN} ELSE 0 END AS span
      FROM new_rows n JOIN old_rows o ON o.id = n.id
    ) x
    UNION
    SELECT DISTINCT date_trunc('hour', o.created_at), {SPAN}
    FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE o.created_at <> n.created_at;
  END IF;
  RETURN NULL;
END $$;
CREATE FUNCTION report_dirty_case_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO report_dirty (at, span_days) SELECT DISTINCT date_trunc('hour', c.created_at), 0
    FROM new_rows e JOIN cases c ON c.id = e.case_id WHERE e.action = 'return';
  ELSE
    INSERT INTO report_dirty (at, span_days) SELECT DISTINCT date_trunc('hour', c.created_at), 0
    FROM old_rows e JOIN cases c ON c.id = e.case_id WHERE e.action = 'return';
  END IF;
  RETURN NULL;
END $$;
"""


def _pg_triggers() -> list[str]:
    out = []
    for table, fn in (("calls", "report_dirty_calls"), ("cases", "report_dirty_cases"),
                      ("case_events", "report_dirty_case_events")):  # fmt: skip
        ops = [("INSERT", "NEW TABLE AS new_rows"), ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
               ("DELETE", "OLD TABLE AS old_rows")]  # fmt: skip
        if table == "case_events":
            ops = [ops[0], ops[2]]
        for op_, ref in ops:
            out.append(
                f"CREATE TRIGGER {table}_report_{op_.lower()} AFTER {op_} ON {table} REFERENCING {ref} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {fn}()"
            )
    return out


CHANGED = "(OLD.citizen_phone IS NOT NEW.citizen_phone OR OLD.created_at IS NOT NEW.created_at)"
SQLITE = [
    "CREATE TRIGGER calls_report_insert AFTER INSERT ON calls BEGIN "
    "INSERT INTO report_dirty (at, span_days) VALUES (NEW.arrived_at, 0); END",
    "CREATE TRIGGER calls_report_update AFTER UPDATE ON calls BEGIN "
    "INSERT INTO report_dirty (at, span_days) VALUES (NEW.arrived_at, 0), (OLD.arrived_at, 0); END",
    "CREATE TRIGGER calls_report_delete AFTER DELETE ON calls BEGIN "
    "INSERT INTO report_dirty (at, span_days) VALUES (OLD.arrived_at, 0); END",
    "CREATE TRIGGER cases_report_insert AFTER INSERT ON cases BEGIN "
    f"INSERT INTO report_dirty (at, span_days) VALUES (NEW.created_at, {SPAN}); END",
    "CREATE TRIGGER cases_report_update AFTER UPDATE ON cases BEGIN "
    f"INSERT INTO report_dirty (at, span_days) VALUES (NEW.created_at, CASE WHEN {CHANGED} THEN {SPAN} ELSE 0 END), "
    f"(OLD.created_at, CASE WHEN {CHANGED} THEN {SPAN} ELSE 0 END); END",
    "CREATE TRIGGER cases_report_delete AFTER DELETE ON cases BEGIN "
    f"INSERT INTO report_dirty (at, span_days) VALUES (OLD.created_at, {SPAN}); END",
    "CREATE TRIGGER case_events_report_insert AFTER INSERT ON case_events WHEN NEW.action = 'return' BEGIN "
    "INSERT INTO report_dirty (at, span_days) SELECT created_at, 0 FROM cases WHERE id = NEW.case_id; END",
    "CREATE TRIGGER case_events_report_delete AFTER DELETE ON case_events WHEN OLD.action = 'return' BEGIN "
    "INSERT INTO report_dirty (at, span_days) SELECT created_at, 0 FROM cases WHERE id = OLD.case_id; END",
]


def upgrade() -> None:
    def keys() -> list[sa.Column[object]]:
        return [sa.Column("id", sa.Integer(), primary_key=True), sa.Column("day", sa.Date(), nullable=False)]

    op.create_table(
        "report_call_days",
        *keys(),
        sa.Column("platform", sa.String(32), nullable=True),
        sa.Column("hotline", sa.String(16), nullable=True),
        *(sa.Column(c, sa.Integer(), nullable=False) for c in CALL_INTS),
        sa.Column("hold_sum", sa.Float(), nullable=False),
        sa.Column("hold_n", sa.Integer(), nullable=False),
        sa.Column("talk_sum", sa.Float(), nullable=False),
        sa.Column("talk_n", sa.Integer(), nullable=False),
    )
    op.create_index("ix_report_call_days_day", "report_call_days", ["day"])
    op.create_table(
        "report_case_days",
        *keys(),
        sa.Column("platform", sa.String(32), nullable=True),
        sa.Column("hotline", sa.String(16), nullable=True),
        sa.Column("channel", sa.String(32), nullable=True),
        sa.Column("unit", sa.String(64), nullable=True),
        sa.Column("category", sa.String(32), nullable=True),
        *(sa.Column(c, sa.Integer(), nullable=False) for c in CASE_INTS),
    )
    op.create_index("ix_report_case_days_day", "report_case_days", ["day"])
    op.create_table(
        "report_rollup_days",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("built_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "report_dirty",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("span_days", sa.Integer(), nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":
        for fn in PG.split("END $$;")[:-1]:
            op.execute(fn + "END $$")
        for stmt in _pg_triggers():
            op.execute(stmt)
    else:
        for stmt in SQLITE:
            op.execute(stmt)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, ops in (("calls", "iud"), ("cases", "iud"), ("case_events", "id")):
            for o in ops:
                name = {"i": "insert", "u": "update", "d": "delete"}[o]
                op.execute(f"DROP TRIGGER IF EXISTS {table}_report_{name} ON {table}")
        for fn in ("report_dirty_calls", "report_dirty_cases", "report_dirty_case_events"):
            op.execute(f"DROP FUNCTION IF EXISTS {fn}()")
    else:
        for stmt in SQLITE:
            op.execute(f"DROP TRIGGER IF EXISTS {stmt.split()[2]}")
    for t in ("report_dirty", "report_rollup_days", "report_case_days", "report_call_days"):
        op.drop_table(t)
