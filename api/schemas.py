"""Response and request models. Families follow Base (shared fields) -> Public (what is returned)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from hub.audit import AuditRecord

SHANGHAI = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")


def in_district_time(value: dt.datetime) -> dt.datetime:
    # Gold stores UTC instants; windows read local time. A naive value is already local.
    return value.astimezone(SHANGHAI) if value.tzinfo else value.replace(tzinfo=SHANGHAI)


LocalDatetime = Annotated[dt.datetime, AfterValidator(in_district_time)]


SharingClass = Literal["unconditional", "conditional", "not_shared"]

# A field that the sharing policy (api/access.py) may withhold is nullable: what a caller may not
# see comes back as null and is counted in `withheld`. tests/unit/test_access.py checks that every
# field the contracts make conditional or not shared is.


class CaseBase(BaseModel):
    case_id: str
    department: str = Field(description="The department that received the case; it owns the case's data.")
    item_code: str
    item_name: str | None
    channel: str
    status: str
    received_at: LocalDatetime
    decided_at: LocalDatetime | None
    promised_deadline: dt.date | None = Field(description="The last working day the decision is due.")


class CasePublic(CaseBase):
    pass


class CaseProgressStepPublic(BaseModel):
    event_type: str = Field(description="The step of the handling (code list case_event_type).")
    at: LocalDatetime = Field(description="When it happened.")


class CaseProgressPublic(BaseModel):
    """Where an applicant's case stands, for the applicant: nothing about who applied or who handled it."""

    case_id: str
    department: str = Field(description="The department that received the case.")
    item_code: str
    item_name: str | None
    received_at: LocalDatetime
    status: str = Field(description="Where the case stands (code list case_status).")
    promised_deadline: dt.date | None = Field(description="The last working day the decision is due.")
    timeline: list[CaseProgressStepPublic] = Field(description="The case's steps so far, oldest first.")
    gold_version: int = Field(description="The version of gold's case_progress the answer comes from.")


class CertificatePublic(BaseModel):
    certificate_id: str
    certificate_type: str
    issuing_department: str = Field(description="The department that issued it; it owns its data.")
    issued_at: LocalDatetime
    valid_from: dt.date
    valid_until: dt.date | None = Field(description="Last day of validity; null when it does not expire.")
    status: str
    in_force: bool = Field(description="Valid on `valid_on`: status valid and the day within its validity.")
    case_id: str


class MaterialOnFilePublic(BaseModel):
    """The material a window can reuse for a material type: still valid, accepted ones first."""

    material_type: str
    material_id: str
    department: str = Field(description="The department whose case it was handed in with; it owns its data.")
    file_object_key: str | None = Field(
        description="Where the file is in the hub's object store; conditional, so null unless the "
        "caller owns the material or holds a grant for the purpose."
    )
    sha256: str = Field(description="SHA-256 of the file, to check a paper handed in is the same file.")
    accepted: bool
    valid_until: dt.date | None = Field(
        description="Last day it may be reused; null while the subject exists."
    )


class OpenAlertPublic(BaseModel):
    """A supervision alert (电子监察) on one of the subject's cases that has not been cleared."""

    rule: str
    department: str
    case_id: str
    raised_at: LocalDatetime


class DepartmentNamePublic(BaseModel):
    """The name a department's latest case gave the subject."""

    department: str
    name: str | None = Field(description="Conditional personal data: masked or null for other departments.")
    seen_at: LocalDatetime


class IdentityAttributePublic(BaseModel):
    """One department's value of one identity attribute of the subject contract."""

    field: str = Field(description="The subject contract's field, e.g. gender, birth_date, mobile_phone.")
    value: str = Field(
        description="As the department reported it; masked when it is personal data the caller sees masked."
    )
    sharing_class: SharingClass = Field(description="The field's sharing class, from the subject contract.")
    department: str = Field(description="The department that reported it; it owns this value.")
    updated_at: LocalDatetime


class AccessPublic(BaseModel):
    """Whom the response was shaped for."""

    department: str = Field(description="The caller's department, from its token.")
    purpose: str = Field(description="The purpose the caller stated.")
    grant_ids: list[str] = Field(description="The caller's grants active for this purpose now.")
    unmasked: bool = Field(description="Whether one of them lets personal data through unmasked.")


class WithheldPublic(BaseModel):
    """Values the caller may not see, by field and owning department: they exist, and are left out."""

    field: str = Field(
        description="Where the values would be: a profile field (`subject_name`), a list's item field "
        "(`materials_on_file.file_object_key`) or an identity attribute (`identity.mobile_phone`); "
        "`conflicts` for conflicts on attributes the caller may not see (their names are withheld too)."
    )
    department: str | None = Field(
        description="The department that owns them; null for values drawn from several."
    )
    sharing_class: Literal["conditional", "not_shared"] = Field(
        description="conditional: a grant for the purpose would open them; not_shared: only their "
        "owner sees them."
    )
    count: int = Field(description="How many values are withheld.")
    reason: str


class SubjectProfileBase(BaseModel):
    subject_id: str = Field(description="The id asked for, normalised (a trailing x upper-cased).")
    subject_type: str
    subject_name: str | None = Field(
        description="The name on the subject's latest case. Conditional personal data reported by "
        "several departments: null without a grant for the purpose, masked unless the grant allows "
        "personal data unmasked; each department's own is in `names_by_department`."
    )
    departments: list[str] = Field(
        description="Every department that has a case of the subject or reported it."
    )
    case_count: int
    open_case_count: int
    last_activity_at: LocalDatetime | None = Field(
        description="Latest receipt or decision; null with no case."
    )


class SubjectProfilePublic(SubjectProfileBase):
    """The unified profile (统一主体画像) as the caller may see it."""

    last_updated_at: LocalDatetime | None
    risk_tier: str | None = Field(description="The highest risk tier of the items the subject applied for.")
    legal_representative_id: str | None = Field(
        description="An entity's legal representative; conditional personal data."
    )
    represented_entities: list[str] | None = Field(
        description="The entities a person represents; conditional personal data (null when withheld)."
    )
    identity: list[IdentityAttributePublic] = Field(
        description="Each identity attribute as each department reported it, those the caller may see."
    )
    names_by_department: list[DepartmentNamePublic]
    conflicts: list[str] = Field(
        description="Attributes the departments disagree on, those the caller may see."
    )
    cases: list[CasePublic] = Field(description="Newest first.")
    certificates: list[CertificatePublic] = Field(
        description="Certificates held, newest first, in force or not."
    )
    materials_on_file: list[MaterialOnFilePublic]
    open_alerts: list[OpenAlertPublic]
    valid_on: dt.date | None = Field(description="The day gold judged validity and time limits on.")
    built_at: LocalDatetime | None = Field(description="When gold built this profile.")
    gold_version: int
    access: AccessPublic
    withheld: list[WithheldPublic] = Field(
        description="What exists but the caller may not see; empty when it sees everything."
    )
    masked: list[str] = Field(description="The fields whose values the caller sees masked.")


class AttestationPublic(BaseModel):
    """Whether the subject holds a valid certificate of a type (持证核验), without the certificate:
    no number, no dates, no issuing case."""

    subject_id: str = Field(description="The id asked for, normalised (a trailing x upper-cased).")
    certificate_type: str
    holds: bool = Field(
        description="Whether the subject holds a certificate of this type that is valid on "
        "`checked_on`: its status is valid and the day is within its validity. False too for a "
        "subject the hub has no record of: the answer is the same as for one without the certificate."
    )
    checked_on: dt.date = Field(
        description="The day the answer is for: today, district time (Asia/Shanghai)."
    )
    gold_version: int = Field(description="The gold version the certificates were read from.")
    access: AccessPublic
    withheld: list[WithheldPublic] = Field(
        description="Certificates of this type that would count but whose fields the caller may not "
        "see (none while the contracts make certificates unconditional)."
    )


class GrantPublic(BaseModel):
    """A grant in the grant registry (`hub grants create`): what it opens to its department."""

    grant_id: str
    department: str = Field(description="The department it opens data to.")
    purpose: str = Field(description="The purpose it opens conditional fields for.")
    unmasked: bool = Field(description="Whether personal data comes unmasked under it.")
    valid_from: dt.date
    valid_until: dt.date | None = Field(description="Its last day, inclusive; null until revoked.")
    approved_by: str
    basis: str = Field(description="The agreement or legal provision it rests on.")
    created_at: LocalDatetime
    revoked_at: LocalDatetime | None
    status: Literal["active", "not_yet_valid", "expired", "revoked"] = Field(description="Its status now.")


class WithheldCountPublic(BaseModel):
    field: str
    department: str | None
    sharing_class: str
    count: int


class AccessLogEntryPublic(BaseModel):
    """One request for the subject's data, as the audit recorded it."""

    request_id: str = Field(description="The X-Request-ID its response carried.")
    at: LocalDatetime
    department: str = Field(description="The department of the client that asked.")
    client_id: str
    purpose: str | None = Field(description="The purpose it stated, as stated; null when none was.")
    endpoint: str = Field(description="`subject_profile`, `subject_access_log` or `subject_attestation`.")
    status: int = Field(description="The HTTP status it was answered with.")
    outcome: str = Field(
        description="shown, not_found, unknown_item, forbidden, invalid_subject_id, invalid_purpose, "
        "invalid_certificate_type, invalid_material_type, invalid_request or error."
    )
    gold_version: int | None = Field(description="The gold version a profile was read from.")
    grant_ids: list[str] = Field(description="The grants that applied to what it got.")
    fields_returned: list[str] = Field(description="The fields it got values of (shown or masked).")
    fields_masked: list[str]
    fields_withheld: list[WithheldCountPublic]

    @classmethod
    def from_record(cls, record: AuditRecord) -> AccessLogEntryPublic:
        return cls(
            request_id=record.request_id,
            at=record.at,
            department=record.department,
            client_id=record.client_id,
            purpose=record.purpose,
            endpoint=record.endpoint,
            status=record.status,
            outcome=record.outcome,
            gold_version=record.gold_version,
            grant_ids=list(record.grant_ids),
            fields_returned=list(record.fields_returned),
            fields_masked=list(record.fields_masked),
            fields_withheld=[
                WithheldCountPublic.model_validate(w, from_attributes=True) for w in record.fields_withheld
            ],
        )


class AccessLogPublic(BaseModel):
    """Who asked for a subject's data (统一主体访问记录)."""

    subject_id: str
    scope: Literal["own_department", "all_departments"] = Field(
        description="Whose requests are listed: the caller's department's, or, under a supervision "
        "grant with the purpose `supervision`, every department's."
    )
    access: AccessPublic
    total: int = Field(description="How many requests are in scope; `entries` holds the newest.")
    entries: list[AccessLogEntryPublic] = Field(description="Newest first.")


class CatalogueLevelPublic(BaseModel):
    code: str
    name: str


class ItemRequirementPublic(BaseModel):
    """One material of an item's requirement standard (要件标准)."""

    material_type: str
    mandatory: bool = Field(description="Whether every application needs it, rather than only some.")
    reusable: bool = Field(
        description="Whether a valid copy the applicant gave any department may be reused instead."
    )
    validity_rule: str = Field(description="How long a copy stays valid for reuse (code list validity_rule).")


class ItemGuidePublic(BaseModel):
    """An approval item's guide (办事指南) as the catalogue publishes it: the same for every
    department, with no data about any applicant."""

    item_code: str
    item_name: str
    level1: CatalogueLevelPublic = Field(description="The item's level-1 entry in the published list.")
    level2: CatalogueLevelPublic = Field(description="The item's level-2 group.")
    item_type: str = Field(description="instant (即办件), committed (承诺件) or joint (联办件).")
    department: str = Field(description="The department responsible for the item.")
    statutory_days: int = Field(description="Statutory time limit, in working days (法定时限).")
    promised_days: int = Field(description="Promised time limit, in working days; 0 for an instant item.")
    requirements: list[ItemRequirementPublic] = Field(
        description="The requirement standard: the materials it requires, mandatory ones first."
    )
    fee_standard: Decimal = Field(
        description='The fee in yuan, as a decimal string ("12.50"); "0.00" when fee-free.'
    )
    fee_free: bool
    handling_tier: str = Field(
        description="The lowest tier that may handle it: district, street or community."
    )
    risk_tier: str = Field(description="low, general or high (风险分级).")
    joint_departments: list[str] = Field(description="The departments that countersign a joint item.")


class ReusePlanEntryPublic(ItemRequirementPublic):
    """One material of the item's requirement standard, and whether the window must ask for it."""

    decision: Literal["reuse", "collect"] = Field(
        description="reuse: a copy on file stands in, the applicant need not bring it; collect: ask for it."
    )
    reason: Literal["on_file", "not_on_file", "expired", "not_accepted", "not_reusable"] = Field(
        description="on_file: valid today and accepted (reuse). Otherwise why it is collected: "
        "not_on_file (no copy still valid is on file with any department), expired (the copy on file "
        "ran out since gold's build), not_accepted (the department that took the copy turned it "
        "down), not_reusable (the item asks for a new one with every application)."
    )
    explanation: str = Field(description="The reason in words, for the window.")
    material: MaterialOnFilePublic | None = Field(
        description="The copy on file, as the caller may see it (its file key is conditional): for "
        "reuse, expired and not_accepted; null when none is on file or the item would not take it."
    )


class ReuseCountsPublic(BaseModel):
    required: int = Field(description="Materials in the item's requirement standard.")
    reuse: int = Field(description="Papers the applicant need not bring: they are on file and valid.")
    collect: int = Field(description="Papers the window must ask for.")


class ReusePlanPublic(BaseModel):
    """An item's requirement standard set against the materials the subject has on file (材料复用)."""

    subject_id: str = Field(description="The id asked for, normalised (a trailing x upper-cased).")
    item_code: str
    item_name: str
    checked_on: dt.date = Field(description="The day validity is judged on: today, district time.")
    gold_version: int = Field(description="The gold version the materials on file were read from.")
    requirements: list[ReusePlanEntryPublic] = Field(description="Mandatory ones first.")
    counts: ReuseCountsPublic
    access: AccessPublic
    withheld: list[WithheldPublic] = Field(
        description="What exists but the caller may not see, e.g. a copy's file key without a grant."
    )
    masked: list[str]


# Text a window sends: ids stay short and printable, so a stray document pasted into one is refused.
ClientText = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[\x21-\x7e]+$")]


class ReuseEventCreate(BaseModel):
    """A window's decision on a material on file it was offered for reuse (a reuse plan's `reuse`)."""

    model_config = ConfigDict(extra="forbid")

    event_id: uuid.UUID = Field(
        description="The event's id, made by the client (a UUID). Sending the same event again "
        "(a retry after a timeout) records it once: the first one sent counts."
    )
    subject_id: ClientText = Field(description="The applicant (GB 11643 ID number or GB 32100 code).")
    item_code: str = Field(
        pattern=r"^[A-Z]{1,16}-[0-9]{4}-[0-9]{2}$",
        max_length=32,
        description="The item applied for, as the reuse plan was asked for.",
    )
    case_id: ClientText | None = Field(
        default=None, description="The new application's case number, when the window has one."
    )
    material_type: ClientText = Field(description="The kind of material (code list material_type).")
    material_id: ClientText | None = Field(
        default=None, description="The copy on file, as the reuse plan showed it (`material.material_id`)."
    )
    sha256: str | None = Field(
        default=None,
        pattern=r"^[0-9a-f]{64}$",
        description="The copy's SHA-256 as the reuse plan showed it; instead of, or beside, `material_id`.",
    )
    decision: Literal["accepted", "rejected"]
    reason: ClientText | None = Field(
        default=None,
        description="Why it was rejected (code list reuse_rejection_reason); required with `rejected`, "
        "absent with `accepted`.",
    )
    note: str | None = Field(
        default=None,
        max_length=500,
        description="Free text beside the reason, at most 500 characters; required with reason `other`.",
    )
    occurred_at: AwareDatetime = Field(
        description="When the window decided, with its UTC offset (RFC 3339); not in the future."
    )


class ReuseEventPublic(BaseModel):
    """The event as recorded: durable on the hub's disk, in `feedback/reuse_event` within the hour."""

    event_id: uuid.UUID
    recorded_at: dt.datetime = Field(description="When the hub recorded it (this request, UTC).")
    subject_id: str = Field(description="The id sent, normalised (a trailing x upper-cased).")
    material_id: str
    material_type: str
    issuing_department: str = Field(
        description="The department whose material it is: the feedback is for it."
    )
    decision: Literal["accepted", "rejected"]
    reason: str | None
    gold_version: int = Field(description="The gold version the material was found in.")


class MaterialDownloadPublic(BaseModel):
    """A short-lived link to the file of the material on file of a type."""

    subject_id: str = Field(description="The id asked for, normalised (a trailing x upper-cased).")
    material_type: str
    material_id: str
    department: str = Field(description="The department whose case the material was handed in with.")
    sha256: str = Field(description="SHA-256 of the file: check the download against it.")
    url: str = Field(
        description="GET it, with no token, before `expires_at`: a presigned URL of the object store, "
        "or a link the API signs and serves itself on local storage."
    )
    expires_at: LocalDatetime
    expires_in: int = Field(description="Seconds the link works for (`HUB_MATERIAL_LINK_SECONDS`).")
    gold_version: int
    access: AccessPublic


class HealthPublic(BaseModel):
    status: str
    gold_version: int
    subjects: int


class ProblemDetail(BaseModel):
    """An error (RFC 9457), served as `application/problem+json`."""

    type: str = Field(
        default="about:blank",
        description="A URI naming the kind of problem; `about:blank` when the status says it all.",
    )
    title: str = Field(description="The status code's phrase, e.g. Not Found.")
    status: int = Field(description="The HTTP status code.")
    detail: str = Field(description="Why the request was refused, for a person at a window to read.")
    instance: str = Field(description="The request's path.")


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
