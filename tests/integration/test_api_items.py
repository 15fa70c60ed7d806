"""`GET /v1/items/{item_code}` over real HTTP, served from the catalogue tables (written with
delta-rs) through the API's own catalogue store, which picks up a new version without a restart."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.main import create_app
from hub.serving import BackgroundServer
from hub.settings import Settings
from tests.api_client import bearer_headers, problem
from tests.catalogue_rows import CONSTRUCTION_PERMIT, FOOD_STALL, items, requirements, write_catalogue

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def settings(hub_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = hub_settings.model_copy(
        update={"home": Path(tmp_path_factory.mktemp("items-home")), "api_refresh_seconds": 0.0}
    )
    write_catalogue(settings)
    return settings


@pytest.fixture(scope="module")
def served(settings: Settings) -> Iterator[BackgroundServer]:
    with BackgroundServer(create_app(settings)) as running:
        yield running


@pytest.fixture(scope="module")
def auth(served: BackgroundServer, settings: Settings) -> dict[str, str]:
    return bearer_headers(settings, served.url, "health")


def test_an_items_guide_needs_a_token_but_no_purpose(served: BackgroundServer, auth: dict[str, str]) -> None:
    response = httpx.get(f"{served.url}/v1/items/{CONSTRUCTION_PERMIT}", headers=auth)
    assert response.status_code == 200, response.text
    assert "X-Request-ID" in response.headers
    assert response.json() == {
        "item_code": CONSTRUCTION_PERMIT,
        "item_name": "建筑工程施工许可证核发",
        "level1": {"code": "ZJ-03", "name": "建设工程管理"},
        "level2": {"code": "ZJ-0301", "name": "施工许可"},
        "item_type": "joint",
        "department": "housing_construction",
        "statutory_days": 15,
        "promised_days": 7,
        "requirements": [
            {
                "material_type": "application_form",
                "mandatory": True,
                "reusable": False,
                "validity_rule": "single_use",
            },
            {
                "material_type": "business_licence",
                "mandatory": True,
                "reusable": True,
                "validity_rule": "while_entity_active",
            },
            {
                "material_type": "construction_drawings",
                "mandatory": True,
                "reusable": False,
                "validity_rule": "single_use",
            },
        ],
        "fee_standard": "120.50",
        "fee_free": False,
        "handling_tier": "district",
        "risk_tier": "high",
        "joint_departments": ["fire_protection", "environmental_protection"],
    }
    stall = httpx.get(f"{served.url}/v1/items/{FOOD_STALL}", headers=auth).json()
    assert (stall["fee_standard"], stall["fee_free"], stall["joint_departments"]) == ("0.00", True, [])
    assert [r["mandatory"] for r in stall["requirements"]] == [True, True, True, False]


def test_an_unknown_item_is_404_and_a_malformed_code_422(
    served: BackgroundServer, auth: dict[str, str]
) -> None:
    unknown = httpx.get(f"{served.url}/v1/items/SCJG-9999-99", headers=auth)
    assert problem(unknown, 404)["detail"] == "no item SCJG-9999-99 in the catalogue"
    for malformed in ("scjg-0101-01", "SCJG-0101", "SCJG_0101_01"):
        response = httpx.get(f"{served.url}/v1/items/{malformed}", headers=auth)
        assert "should match pattern" in problem(response, 422)["detail"], malformed


def test_without_a_token_it_is_401(served: BackgroundServer) -> None:
    problem(httpx.get(f"{served.url}/v1/items/{FOOD_STALL}"), 401)


def test_a_newly_published_catalogue_is_served_without_a_restart(
    served: BackgroundServer, settings: Settings, auth: dict[str, str]
) -> None:
    renamed = [
        i | {"item_name": "食品摊贩登记（新）"} if i["item_code"] == FOOD_STALL else i for i in items()
    ]
    write_catalogue(settings, renamed, requirements())
    try:
        response = httpx.get(f"{served.url}/v1/items/{FOOD_STALL}", headers=auth)
        assert response.json()["item_name"] == "食品摊贩登记（新）"
    finally:
        write_catalogue(settings)
