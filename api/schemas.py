"""Response and request models. Families follow Base (shared fields) -> Public (what is returned)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel

SHANGHAI = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")


def _in_district_time(value: dt.datetime) -> dt.datetime:
    # Gold stores UTC instants; windows read local time. A naive value is already local.
    return value.astimezone(SHANGHAI) if value.tzinfo else value.replace(tzinfo=SHANGHAI)


LocalDatetime = Annotated[dt.datetime, AfterValidator(_in_district_time)]


class CaseBase(BaseModel):
    case_id: str
    department: str
    item_code: str
    item_name: str | None
    channel: str
    status: str
    received_at: LocalDatetime
    decided_at: LocalDatetime | None


class CasePublic(CaseBase):
    pass


class SubjectProfileBase(BaseModel):
    subject_id: str
    subject_type: str
    subject_name: str
    departments: list[str]
    case_count: int
    open_case_count: int
    last_activity_at: LocalDatetime


class SubjectProfilePublic(SubjectProfileBase):
    cases: list[CasePublic]
    gold_version: int


class HealthPublic(BaseModel):
    status: str
    gold_version: int
    subjects: int


class ProblemDetail(BaseModel):
    detail: str


class TokenPublic(BaseModel):
    """RFC 6749 §5.1's successful token response."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class TokenErrorPublic(BaseModel):
    """RFC 6749 §5.2's error response: the token endpoint answers in OAuth2's shape, not ProblemDetail,
    because OAuth2 clients read `error`."""

    error: Literal["invalid_request", "invalid_client", "unsupported_grant_type"]
    error_description: str
