"""The API as deployed, plus the serving benchmark's floor: `GET /bench/echo/{subject_id}` answers
the JSON bytes last put at `PUT /bench/echo`, from memory, with no token, policy or audit.

Only the benchmark serves this app (`uvicorn --factory bench.serving_app:create_bench_app`); the
API's own factory never adds these routes. The bytes put go to the file `HUB_BENCH_ECHO_FILE`
names, which every worker process reads once, at its first answer after the put.
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI, Request, Response

from api.main import create_app

ECHO_FILE_ENV = "HUB_BENCH_ECHO_FILE"


def create_bench_app() -> FastAPI:
    app = create_app()
    echo_file = Path(os.environ[ECHO_FILE_ENV])
    echo: dict[str, bytes] = {}

    @app.put("/bench/echo", include_in_schema=False)
    async def put_echo(request: Request) -> Response:
        echo_file.write_bytes(await request.body())
        echo.clear()
        return Response(status_code=204)

    @app.get("/bench/echo/{subject_id}", include_in_schema=False)
    async def get_echo(subject_id: str) -> Response:
        if not echo:
            echo["body"] = echo_file.read_bytes()
        return Response(echo["body"], media_type="application/json")

    # First in the router's list, as the API puts its profile route (api.main): neither pays for
    # trying the other routes first.
    app.router.routes[:0] = [app.router.routes.pop(), app.router.routes.pop()]
    return app
