"""The reference for bench/http_bench.py: a minimal FastAPI app with one route reading one row by primary
key — the same driver, engine settings (app.db.make_engine) and server (uvicorn, same options as
`hotline run`) as the hotline. Not part of the product.

    .venv/bin/python bench/http_reference.py --db postgresql+asyncpg://… --port 8099
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def create_reference_app(db_url: str) -> Any:
    from fastapi import FastAPI, HTTPException
    from sqlalchemy import text

    from app.db import make_engine

    engine = make_engine(db_url)
    app = FastAPI()
    q = text("SELECT id, number, status, summary, platform, created_at FROM cases WHERE id = :id")

    @app.get("/ref/cases/{case_id}")
    async def one_row(case_id: int) -> dict[str, Any]:
        async with engine.connect() as conn:
            row = (await conn.execute(q, {"id": case_id})).mappings().first()
        if row is None:
            raise HTTPException(404)
        return dict(row)

    return app


def main() -> None:
    import uvicorn

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--workers", type=int, default=1)
    a = ap.parse_args()
    if a.workers > 1:
        import os

        os.environ["HOTLINE_REF_DB"] = a.db
        uvicorn.run(
            "bench.http_reference:_factory", factory=True, host="127.0.0.1", port=a.port, workers=a.workers,
            log_config=None, access_log=False,
        )  # fmt: skip
    else:
        uvicorn.run(create_reference_app(a.db), host="127.0.0.1", port=a.port, log_config=None, access_log=False)


def _factory() -> Any:
    import os

    return create_reference_app(os.environ["HOTLINE_REF_DB"])


if __name__ == "__main__":
    main()
