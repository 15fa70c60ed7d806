"""The analysts' dashboard: `GET /dashboard` (the page), its static files (`/dashboard/static/`: the
page's script and style, and ECharts as `make setup` bundled it from npm) and
`GET /dashboard/data`, every chart's data for the filters, from the analyst marts with small
cells suppressed.

Who may open it: anyone who reaches the API, with no token. It shows aggregates only, each
covering at least `HUB_SMALL_CELL_K` applicants, no subject and no case, the kind of figures the
district publishes anyway; a browser in the hall's network cannot hold a department client's
secret, so a token would only mean a shared password. It is left out of the OpenAPI document,
which describes the departments' API.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import FileResponse

from api.catalogue import ITEM_CODE_PATTERN
from api.deps import AnalystMartStoreDep, SettingsDep
from hub.analyst_figures import Filters, MartsNotBuiltError, dashboard, options
from hub.monthly_report import ECHARTS_BUNDLE
from quality.contracts import load_code_labels

STATIC_DIR = ECHARTS_BUNDLE.parent

router = APIRouter(prefix="/dashboard", include_in_schema=False)


@router.get("")
def dashboard_page() -> FileResponse:
    if not ECHARTS_BUNDLE.exists():
        raise HTTPException(
            status_code=503,
            detail=f"the dashboard's charting library is missing ({ECHARTS_BUNDLE}): run make setup",
        )
    return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})


def _known(code_list: str, value: str | None) -> str | None:
    codes = load_code_labels()[code_list]
    if value is not None and value not in codes:
        raise HTTPException(
            status_code=422, detail=f"unknown {code_list} {value!r}; one of: {', '.join(codes)}"
        )
    return value


@router.get("/data")
def dashboard_data(
    *,
    store: AnalystMartStoreDep,
    settings: SettingsDep,
    department: Annotated[str | None, Query(max_length=64)] = None,
    item_code: Annotated[str | None, Query(pattern=ITEM_CODE_PATTERN, max_length=32)] = None,
    channel: Annotated[str | None, Query(max_length=32)] = None,
    month: Annotated[str | None, Query(max_length=16, description="YYYY-MM")] = None,
) -> dict[str, Any]:
    try:
        filters = Filters(
            department=_known("department", department),
            item_code=item_code,
            channel=_known("channel", channel),
            month=month,
        )
    except ValueError as error:
        raise HTTPException(status_code=422, detail=str(error)) from error
    try:
        marts = store.marts()
    except MartsNotBuiltError as error:
        raise HTTPException(status_code=503, detail=str(error)) from error
    return dashboard(marts, filters) | {"options": options(marts), "small_cell_k": settings.small_cell_k}
