"""Application factory: wires settings, the serving store, the credential registry and the routers."""

from __future__ import annotations

from fastapi import FastAPI

from api.profiles import ProfileStore
from api.routes import auth, health, subjects
from api.tokens import access_tokens
from hub.credentials import credential_registry
from hub.settings import Settings, get_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="Approval data-sharing hub",
        version="0.1.0",
        description="Unified subject profiles drawn from every department's approval records. "
        "A department's client exchanges its credentials for a bearer token at `POST /v1/token`.",
    )
    app.state.settings = settings
    app.state.profile_store = ProfileStore(settings)
    app.state.credential_registry = credential_registry(settings)
    app.state.access_tokens = access_tokens(settings, app.state.credential_registry)
    app.add_exception_handler(auth.TokenRequestError, auth.token_error_response)
    app.include_router(health.router)
    app.include_router(auth.router)
    app.include_router(subjects.router)
    return app
