"""The API as deployed, plus the serving benchmark's floor: `GET /bench/echo/{subject_id}` answers
the JSON bytes last put at `PUT /bench/echo`, from memory, with no token, policy or audit.

Only the benchmark serves this app (`uvicorn --factory bench.serving_app:create_bench_app`); the
API's own factory never adds these routes.
"""

from __future__ import annotations

from fastapi import FastAPI, Request, Response

from api.main import create_app


def create_bench_app() -> FastAPI:
    app = create_app()
    echo = {"body": b"{}"}

    @app.put("/bench/echo", include_in_schema=False)
    async def put_echo(request: Request) -> Response:
        echo["body"] = await request.body()
        return Response(status_code=204)

    @app.get("/bench/echo/{subject_id}", include_in_schema=False)
    async def get_echo(subject_id: str) -> Response:
        return Response(echo["body"], media_type="application/json")

    return app
