"""The housing and construction bureau's case API: its change table served page by page over HTTP.

`GET /api/v1/cases?updated_since=&updated_before=&page=&page_size=` returns the changes whose
`modify_time` (epoch milliseconds) lies in [updated_since, updated_before), oldest first.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, HTTPException, Query

MAX_PAGE_SIZE = 1000


# Columns of the change table that hold JSON text; the API serves them as nested JSON.
NESTED_COLUMNS = ("materials", "flows", "cert", "evaluation", "express")


def _nested_decoded(row: dict[str, Any]) -> dict[str, Any]:
    return row | {c: json.loads(row[c]) for c in NESTED_COLUMNS if isinstance(row.get(c), str)}


def create_department_api(db_path: Path, table: str = "case_changes") -> FastAPI:
    app = FastAPI(title="区住房和建设局 办件数据接口", docs_url=None, redoc_url=None)

    @app.get("/api/v1/cases")
    def cases(
        updated_since: Annotated[int, Query(ge=0, description="epoch ms, inclusive")],
        updated_before: Annotated[int, Query(ge=0, description="epoch ms, exclusive")],
        page: Annotated[int, Query(ge=1)] = 1,
        page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 500,
    ) -> dict[str, Any]:
        if updated_before <= updated_since:
            raise HTTPException(422, "updated_before must be later than updated_since")
        if not db_path.exists():
            rows: list[dict[str, Any]] = []
            total = 0
        else:
            with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as db:
                db.row_factory = sqlite3.Row
                window = f"FROM {table} WHERE modify_time >= ? AND modify_time < ?"
                (total,) = db.execute(f"SELECT count(*) {window}", (updated_since, updated_before)).fetchone()
                rows = [
                    _nested_decoded(dict(r))
                    for r in db.execute(
                        f"SELECT * {window} ORDER BY modify_time, rowid LIMIT ? OFFSET ?",
                        (updated_since, updated_before, page_size, (page - 1) * page_size),
                    )
                ]
        return {
            "page": page,
            "page_size": page_size,
            "total": total,
            "total_pages": (total + page_size - 1) // page_size,
            "data": rows,
        }

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
