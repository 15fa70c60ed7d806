from __future__ import annotations

from fastapi import APIRouter

from api.deps import ProfileStoreDep
from api.schemas import HealthPublic

router = APIRouter(tags=["health"])


@router.get("/health")
def health(store: ProfileStoreDep) -> HealthPublic:
    snapshot = store.snapshot()
    return HealthPublic(status="ok", gold_version=snapshot.version, subjects=len(snapshot.profiles))
