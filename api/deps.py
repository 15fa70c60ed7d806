"""Dependencies the routes declare with Annotated; tests override them on the app."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from api.profiles import ProfileStore
from hub.settings import Settings


def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_profile_store(request: Request) -> ProfileStore:
    store: ProfileStore = request.app.state.profile_store
    return store


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
ProfileStoreDep = Annotated[ProfileStore, Depends(get_profile_store)]
