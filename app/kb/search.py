"""The knowledge base's full-text index and ranked search, one implementation per database.

Both index the same jieba tokens (app.kb.segment) in three fields of falling weight — title, keywords,
body — and answer an OR of the query's words ranked by relevance, so an article that matches more of
the words, in its title, more often and in a shorter text comes first:

- SQLite: an FTS5 table ``kb_fts`` (rowid = article id, unicode61 tokenizer over the space-separated
  tokens), ranked by ``bm25`` with column weights 8 / 4 / 1.
- PostgreSQL: a table ``kb_fts`` (article_id, tsvector) with a GIN index; the tsvector is built with the
  'simple' configuration (no stemming, no stop words: the tokens are already words) and weights A / B
  / D, ranked by ``ts_rank`` normalised by document length (flag 1).

A category given with the query multiplies the score of the articles of that category by
:data:`CATEGORY_BOOST`. No commits here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.kb.segment import index_text

FTS_TABLE = "kb_fts"
CATEGORY_BOOST = 1.5

SQLITE_DDL = [
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5("
    "title, keywords, body, tokenize = 'unicode61 remove_diacritics 0')"
]
POSTGRES_DDL = [
    f"CREATE TABLE IF NOT EXISTS {FTS_TABLE} (article_id INTEGER PRIMARY KEY "
    "REFERENCES kb_articles (id) ON DELETE CASCADE, tsv tsvector NOT NULL)",
    f"CREATE INDEX IF NOT EXISTS ix_{FTS_TABLE}_tsv ON {FTS_TABLE} USING gin (tsv)",
]
PG_TSV = (
    "setweight(to_tsvector('simple', :title), 'A') || setweight(to_tsvector('simple', :keywords), 'B')"
    " || setweight(to_tsvector('simple', :body), 'D')"
)


def dialect(session: AsyncSession) -> str:
    return session.bind.dialect.name if session.bind is not None else "sqlite"


@dataclass(frozen=True)
class Hit:
    article_id: int
    score: float  # larger is better, on both databases


def fts5_query(terms: Sequence[str]) -> str:
    """An FTS5 MATCH expression: any of the terms, each a quoted string (no operator injection)."""
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)


def tsquery(terms: Sequence[str]) -> str:
    """A to_tsquery text: any of the terms, each quoted (no operator injection)."""
    return " | ".join("'" + t.replace("\\", "\\\\").replace("'", "''") + "'" for t in terms)


async def index(session: AsyncSession, article_id: int, title: str, keywords: str, body: str) -> None:
    """(Re)index one article (after every save)."""
    params = {
        "id": article_id,
        "title": index_text(title),
        "keywords": index_text(keywords),
        "body": index_text(body),
    }
    if dialect(session) == "postgresql":
        await session.execute(
            text(
                f"INSERT INTO {FTS_TABLE} (article_id, tsv) VALUES (:id, {PG_TSV}) "
                "ON CONFLICT (article_id) DO UPDATE SET tsv = EXCLUDED.tsv"
            ),
            params,
        )
    else:
        await session.execute(text(f"DELETE FROM {FTS_TABLE} WHERE rowid = :id"), {"id": article_id})
        await session.execute(
            text(
                f"INSERT INTO {FTS_TABLE} (rowid, title, keywords, body) VALUES (:id, :title, :keywords, :body)"
            ),
            params,
        )


async def unindex(session: AsyncSession, article_id: int) -> None:
    if dialect(session) == "postgresql":
        await session.execute(text(f"DELETE FROM {FTS_TABLE} WHERE article_id = :id"), {"id": article_id})
    else:
        await session.execute(text(f"DELETE FROM {FTS_TABLE} WHERE rowid = :id"), {"id": article_id})


async def search(
    session: AsyncSession,
    terms: Sequence[str],
    *,
    statuses: Sequence[str],
    platforms: Sequence[str] | None,
    category: str | None = None,
    only_category: bool = False,
    limit: int = 10,
    offset: int = 0,
) -> list[Hit]:
    """Articles matching any of ``terms``, best first. ``platforms`` None: every platform; otherwise the
    whole-province articles plus those of the listed platforms."""
    if not terms:
        return []
    params: dict[str, object] = {
        "cat": category or "",
        "boost": CATEGORY_BOOST,
        "limit": limit,
        "offset": offset,
    }
    where = []
    st = ", ".join(f":st{i}" for i in range(len(statuses)))
    params.update({f"st{i}": s for i, s in enumerate(statuses)})
    where.append(f"a.status IN ({st})")
    if platforms is not None:
        pl = ", ".join(f":pl{i}" for i in range(len(platforms))) or "NULL"
        params.update({f"pl{i}": p for i, p in enumerate(platforms)})
        where.append(f"(a.platform IS NULL OR a.platform IN ({pl}))")
    if only_category and category:
        where.append("a.category_code = :cat")
    cond = " AND ".join(where)
    boost = "(CASE WHEN a.category_code = :cat THEN :boost ELSE 1.0 END)"
    if dialect(session) == "postgresql":
        params["q"] = tsquery(terms)
        sql = (
            f"SELECT a.id, ts_rank(f.tsv, q.q, 1) * {boost} AS score "
            f"FROM {FTS_TABLE} f JOIN kb_articles a ON a.id = f.article_id, "
            "to_tsquery('simple', :q) AS q(q) "
            f"WHERE f.tsv @@ q.q AND {cond} ORDER BY score DESC, a.id LIMIT :limit OFFSET :offset"
        )
    else:
        params["q"] = fts5_query(terms)
        sql = (
            f"SELECT a.id, -bm25({FTS_TABLE}, 8.0, 4.0, 1.0) * {boost} AS score "
            f"FROM {FTS_TABLE} JOIN kb_articles a ON a.id = {FTS_TABLE}.rowid "
            f"WHERE {FTS_TABLE} MATCH :q AND {cond} ORDER BY score DESC, a.id LIMIT :limit OFFSET :offset"
        )
    rows = (await session.execute(text(sql), params)).all()
    return [Hit(int(r[0]), float(r[1])) for r in rows]
