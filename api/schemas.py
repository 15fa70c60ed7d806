"""Response and request models. Families follow Base (shared fields) -> Public (what is returned)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel


class CaseBase(BaseModel):
    case_id: str
    department: str
    item_code: str
    item_name: str | None
    channel: str
    status: str
    received_at: dt.datetime
    decided_at: dt.datetime | None


class CasePublic(CaseBase):
    pass


class SubjectProfileBase(BaseModel):
    subject_id: str
    subject_type: str
    subject_name: str
    departments: list[str]
    case_count: int
    open_case_count: int
    last_activity_at: dt.datetime


class SubjectProfilePublic(SubjectProfileBase):
    cases: list[CasePublic]
    gold_version: int


class HealthPublic(BaseModel):
    status: str
    gold_version: int
    subjects: int


class ProblemDetail(BaseModel):
    detail: str
