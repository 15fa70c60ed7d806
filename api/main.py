"""Application factory: wires settings, the serving store and the routers."""

from __future__ import annotations

from fastapi import FastAPI

from api.profiles import ProfileStore
from api.routes import health, subjects
from hub.settings import Settings, get_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="Approval data-sharing hub",
        version="0.1.0",
        description="Unified subject profiles drawn from every department's approval records.",
    )
    app.state.settings = settings
    app.state.profile_store = ProfileStore(settings)
    app.include_router(health.router)
    app.include_router(subjects.router)
    return app
