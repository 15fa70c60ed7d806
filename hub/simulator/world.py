"""The simulated district: subjects, and the cases they bring to each department, day by day.

Everything is drawn from a seeded random generator, so a seed gives the same district every
time. Subjects are derived from their index instead of being held in a list, and only open cases
are kept in memory, so ten million cases stream through in bounded memory.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import heapq
import logging
import random
from collections.abc import Iterator
from dataclasses import dataclass, replace

from hub.identifiers import credit_code_check_char, resident_id_check_char
from hub.settings import DISTRICT_TIMEZONE
from hub.simulator.catalogue import CATALOGUE, Item
from hub.working_days import WorkingCalendar, load_calendar

log = logging.getLogger(__name__)
# Tianhe district and its neighbours in Guangzhou; ids carry the region of registration.
REGIONS = ("440106", "440104", "440105", "440111", "440112")
SURNAMES = "陈李张黄王林刘吴梁何郭杨罗郑谢周蔡徐邓冯曾彭萧蔡潘田董袁于余叶蒋杜苏魏程吕丁沈任姚卢傅钟"
GIVEN_NAMES = [
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "洋",
    "艳",
    "勇",
    "军",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀英",
    "志强",
    "晓东",
    "嘉欣",
    "俊杰",
    "梓涵",
    "浩然",
    "颖",
    "婷",
    "建华",
    "国强",
    "丽华",
    "少华",
]
SHOP_WORDS = [
    "粤香",
    "天河",
    "岭南",
    "珠江",
    "五羊",
    "花城",
    "羊城",
    "骏景",
    "石牌",
    "员村",
    "体育",
    "猎德",
    "车陂",
    "棠下",
    "龙洞",
    "沙河",
    "冼村",
    "华景",
]
SHOP_KINDS = (
    "餐饮有限公司",
    "饮食店",
    "茶餐厅",
    "烧腊店",
    "贸易有限公司",
    "建筑工程有限公司",
    "科技有限公司",
    "物业管理有限公司",
)
CHANNELS = ("window", "online", "wechat", "kiosk", "courier")
CHANNEL_WEIGHTS = (45, 25, 15, 8, 7)
# Halls close at weekends; the online hall, WeChat and kiosks do not.
ALWAYS_OPEN = ("online", "wechat", "kiosk")


@dataclass(frozen=True)
class Subject:
    subject_id: str
    subject_type: str  # person | entity
    name: str
    phone: str
    # A number the applicant gave years ago, which one department's system still holds: the
    # departments disagree about it, as real islands do. None: every department has `phone`.
    stale_phone: str | None = None
    address: str | None = None  # persons
    id_expiry: dt.date | None = None  # persons: when the resident ID card expires
    entity_type: str | None = None
    legal_representative_id: str | None = None  # entities: a person of the pool
    registered_capital: float | None = None  # entities, ten thousand yuan
    established: dt.date | None = None  # entities


INCOMPLETE_CASE_SHARE = 0.02
# Applicants who changed their phone number since they last dealt with some department.
STALE_PHONE_SHARE = 0.3
ENTITY_TYPES = ("limited_company", "limited_company", "individual_business", "sole_proprietorship")


@dataclass(frozen=True)
class Material:
    material_id: str
    material_type: str
    object_key: str
    sha256: str
    accepted: bool
    submitted_at: dt.datetime
    valid_until: dt.date | None


@dataclass(frozen=True)
class Certificate:
    """The licence or certificate a permitted case issues (证照)."""

    certificate_id: str
    certificate_type: str
    issued_at: dt.datetime
    valid_from: dt.date
    valid_until: dt.date | None  # None: valid while the holder exists


# How long each kind of certificate is valid, in years; missing: without an end date.
CERTIFICATE_YEARS = {
    "food_business_licence": 5,
    "health_certificate": 1,
    "public_place_hygiene_licence": 4,
    "construction_permit": 3,
}


@dataclass(frozen=True)
class Evaluation:
    """The applicant's rating of a decided case (好差评), given right after it at the channel used."""

    evaluation_id: str
    channel: str
    score: int  # 5 very satisfied .. 1 very dissatisfied
    rating: str
    comment: str | None
    evaluated_at: dt.datetime
    rectified_at: dt.datetime | None = None  # when the department rectified a poor one


@dataclass(frozen=True)
class Consignment:
    """An EMS consignment: materials picked up from the applicant, or the result delivered."""

    delivery_id: str
    direction: str  # pickup | delivery
    waybill_no: str
    recipient_mobile: str
    address: str
    ordered_at: dt.datetime
    delivered_at: dt.datetime | None
    status: str


RATINGS = {
    5: "very_satisfied",
    4: "satisfied",
    3: "basically_satisfied",
    2: "dissatisfied",
    1: "very_dissatisfied",
}
EVALUATION_CHANNEL = {
    "window": "window_device",
    "kiosk": "window_device",
    "online": "online",
    "wechat": "wechat",
    "courier": "hotline",
}
BAD_REVIEW_COMMENTS = ("等候时间太长", "材料要求没有一次性告知", "窗口人员态度不好", "多次往返才办成")
STREETS = ("天河路", "体育东路", "林和西路", "黄埔大道西", "中山大道西", "天河北路", "珠江新城华夏路")


@dataclass(frozen=True)
class CaseEvent:
    """One step in the handling of a case (办件环节), as the department's flow log records it."""

    event_id: str
    event_type: str
    event_at: dt.datetime
    actor_role: str
    actor_id: str | None
    window_id: str | None = None
    fee_amount: float | None = None


@dataclass(frozen=True)
class CaseVersion:
    """One state of a case as its department's system stores it; `updated_at` orders versions."""

    case_id: str
    department: str
    subject: Subject
    item: Item
    channel: str
    status: str  # accepted | completed | not_accepted | not_permitted
    received_at: dt.datetime
    decided_at: dt.datetime | None
    promised_deadline: dt.date | None
    supplement_rounds: int
    updated_at: dt.datetime
    materials: tuple[Material, ...]
    events: tuple[CaseEvent, ...] = ()  # the flow log so far, oldest first
    certificate: Certificate | None = None  # issued when a case is permitted
    evaluation: Evaluation | None = None
    consignments: tuple[Consignment, ...] = ()
    # 查询码: printed on the applicant's receipt, asked for by the progress query.
    verification_code: str = ""


# Letters and digits no one misreads off a receipt (no 0/O, 1/I).
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_LENGTH = 8


def verification_code(seed: int, case_id: str) -> str:
    """The case's code, from the seed and the case alone, so the day's other draws do not move."""
    rng = random.Random(f"{seed}/verification-code/{case_id}")
    return "".join(rng.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def resident_id(rng: random.Random, today: dt.date) -> str:
    birth = today - dt.timedelta(days=rng.randint(18 * 365, 70 * 365))
    body = f"{rng.choice(REGIONS)}{birth:%Y%m%d}{rng.randint(0, 999):03d}"
    return body + resident_id_check_char(body)


def credit_code(rng: random.Random) -> str:
    org = "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(9))
    body = f"91{rng.choice(REGIONS)}{org}"
    return body + credit_code_check_char(body)


class SubjectPool:
    """`size` subjects, each derived from the seed and its index, so none has to be stored."""

    def __init__(self, seed: int, size: int, today: dt.date) -> None:
        self.seed, self.size, self.today = seed, size, today

    def subject(self, index: int) -> Subject:
        rng = random.Random(f"{self.seed}/subject/{index}")
        phone = f"1{rng.choice('3456789')}{rng.randint(0, 999_999_999):09d}"
        # Attributes come from a generator of their own, so adding one never changes the ids.
        own = random.Random(f"{self.seed}/subject-attributes/{index}")
        stale_phone = (
            f"1{own.choice('3456789')}{own.randint(0, 999_999_999):09d}"
            if own.random() < STALE_PHONE_SHARE
            else None
        )
        # Two persons for every entity: individuals apply for more small items than firms do.
        if index % 3 == 2:
            name = "广州市" + rng.choice(SHOP_WORDS) + rng.choice(SHOP_KINDS)
            return Subject(
                credit_code(rng),
                "entity",
                name,
                phone,
                stale_phone,
                entity_type=own.choice(ENTITY_TYPES),
                # The person just before it in the pool runs it, and may apply for things too.
                legal_representative_id=self.subject(index - 2).subject_id,
                registered_capital=float(own.choice((10, 50, 100, 500, 1000))),
                established=self.today - dt.timedelta(days=own.randint(30, 15 * 365)),
            )
        name = rng.choice(SURNAMES) + rng.choice(GIVEN_NAMES)
        subject_id = resident_id(rng, self.today)
        return Subject(
            subject_id,
            "person",
            name,
            phone,
            stale_phone,
            address=_address(own),
            id_expiry=_valid_until("until_id_expiry", subject_id, "id_card_copy"),
        )

    def pick(self, rng: random.Random, subject_type: str) -> Subject:
        """A subject of the type: a few come back to many departments, most come once or twice."""
        # Index i is an entity when i % 3 == 2, a person otherwise.
        count = self.size // 3 if subject_type == "entity" else self.size - self.size // 3
        frequent = rng.random() < 0.3
        k = min(int(rng.paretovariate(1.2)) - 1, count - 1) if frequent else rng.randrange(count)
        index = 3 * k + 2 if subject_type == "entity" else 3 * (k // 2) + k % 2
        return self.subject(index)


def _valid_until(rule: str, subject_id: str, material_type: str) -> dt.date | None:
    """The last day the applicant's copy may be reused, under its type's validity rule; derived
    from the subject and type, so one file has one validity whichever case carries it."""
    rng = random.Random(f"{subject_id}/{material_type}")
    issued = dt.date(2026, 1, 1) - dt.timedelta(days=rng.randint(0, 600))
    match rule:
        case "one_year":
            return issued + dt.timedelta(days=365)
        case "until_lease_end":
            return issued + dt.timedelta(days=365 * rng.randint(1, 3))
        case "until_id_expiry":
            return issued + dt.timedelta(days=365 * rng.choice((5, 10, 20)))
    return None  # single use, or valid while the entity is active


def _materials(
    case_id: str, subject: Subject, item: Item, received: dt.datetime, rng: random.Random
) -> tuple[Material, ...]:
    chosen = [r for r in item.requirements if r.mandatory or rng.random() < 0.4]
    # Now and then a window takes a case in without one of the materials its item requires, which
    # supervision must catch if the case is permitted anyway.
    careless = random.Random(f"incomplete/{case_id}")
    if careless.random() < INCOMPLETE_CASE_SHARE and len(chosen) > 1:
        chosen.remove(careless.choice([r for r in chosen if r.mandatory]))
    # Attributes come from a generator of their own, so adding one never reshuffles the district.
    own = random.Random(f"materials/{case_id}")
    out = []
    for n, requirement in enumerate(chosen, start=1):
        if requirement.reusable:
            # The applicant's own copy: the same file whichever department it is handed to.
            digest = hashlib.sha256(f"{subject.subject_id}/{requirement.material_type}".encode()).hexdigest()
            key = f"materials/{digest[:2]}/{digest}.pdf"
        else:
            key = f"materials/{item.department}/{case_id}/{requirement.material_type}.pdf"
            digest = hashlib.sha256(key.encode()).hexdigest()
        out.append(
            Material(
                material_id=f"{case_id}-{n:02d}",
                material_type=requirement.material_type,
                object_key=key,
                sha256=digest,
                accepted=own.random() > 0.03,
                submitted_at=received,
                valid_until=_valid_until(
                    requirement.validity_rule, subject.subject_id, requirement.material_type
                ),
            )
        )
    return tuple(out)


def _event(
    case_id: str,
    events: tuple[CaseEvent, ...],
    kind: str,
    at: dt.datetime,
    *,
    role: str,
    rng: random.Random,
    window_id: str | None = None,
    fee_amount: float | None = None,
) -> tuple[CaseEvent, ...]:
    """`events` with one more at the end, numbered after them."""
    actor = None if role == "system" else f"{role[:2].upper()}{rng.randint(1, 40):03d}"
    number = f"{case_id}-E{len(events) + 1:02d}"
    return (*events, CaseEvent(number, kind, at, role, actor, window_id, fee_amount))


def _received_events(case_id: str, channel: str, received: dt.datetime) -> tuple[CaseEvent, ...]:
    rng = random.Random(f"events/{case_id}")
    if channel in ("window", "courier"):
        window = f"W{rng.randint(1, 24):02d}"
        return _event(case_id, (), "received", received, role="window_clerk", rng=rng, window_id=window)
    return _event(case_id, (), "received", received, role="system", rng=rng)


def _decision_events(opened: CaseVersion, decided: CaseVersion) -> tuple[CaseEvent, ...]:
    """The flow log of a decided case: acceptance, supplement rounds, countersigns, the decision,
    the certificate and the fee, spread between receipt and decision."""
    rng = random.Random(f"events/{opened.case_id}/decided")
    assert decided.decided_at is not None
    case_id, item, start, end = opened.case_id, opened.item, opened.received_at, decided.decided_at
    steps = 1 + 2 * decided.supplement_rounds + len(item.joint_departments)
    times = iter(start + (end - start) * (k + 1) / (steps + 1) for k in range(steps))
    events = _event(case_id, opened.events, "accepted", next(times), role="window_clerk", rng=rng)
    for _ in range(decided.supplement_rounds):
        events = _event(case_id, events, "supplement_requested", next(times), role="approver", rng=rng)
        events = _event(case_id, events, "supplemented", next(times), role="window_clerk", rng=rng)
    for _ in item.joint_departments:
        events = _event(case_id, events, "countersigned", next(times), role="approver", rng=rng)
    permitted = decided.status == "completed"
    outcome = "decided_permitted" if permitted else "decided_not_permitted"
    decider = "chief_representative" if item.handling_tier == "district" else "approver"
    events = _event(case_id, events, outcome, end, role=decider, rng=rng)
    if permitted and item.certificate_type:
        events = _event(case_id, events, "certificate_issued", end, role="system", rng=rng)
    if item.fee_standard > 0:
        events = _event(
            case_id, events, "fee_charged", end, role="window_clerk", rng=rng, fee_amount=item.fee_standard
        )
    return events


def _evaluation(decided: CaseVersion) -> Evaluation | None:
    """About six in ten applicants rate a decided case; a few rate it badly."""
    rng = random.Random(f"evaluation/{decided.case_id}")
    if decided.decided_at is None or rng.random() > 0.6:
        return None
    score = rng.choices((5, 4, 3, 2, 1), weights=(62, 24, 8, 4, 2))[0]
    comment = rng.choice(BAD_REVIEW_COMMENTS) if score <= 2 else None
    at = decided.decided_at + dt.timedelta(seconds=rng.randint(30, 900))
    channel = EVALUATION_CHANNEL[decided.channel]
    return Evaluation(f"PJ{decided.case_id}", channel, score, RATINGS[score], comment, at)


# Working days a department takes to rectify the cause of a poor evaluation; 15 is the limit.
RECTIFICATION_DAYS = (3, 8, 12, 14, 15, 18, 25)
RECTIFICATION_WEIGHTS = (20, 30, 20, 10, 5, 10, 5)


def _rectification(decided: CaseVersion, calendar: WorkingCalendar) -> CaseVersion | None:
    """The case's record again once a poor evaluation of it was rectified; most are within the
    15 working days, some later, and one in ten never is."""
    e = decided.evaluation
    if e is None or e.score > 2:
        return None
    rng = random.Random(f"rectification/{decided.case_id}")
    if rng.random() < 0.1:
        return None
    days = rng.choices(RECTIFICATION_DAYS, weights=RECTIFICATION_WEIGHTS)[0]
    at = _working_hours_time(rng, calendar.add_working_days(e.evaluated_at.date(), days))
    return replace(decided, evaluation=replace(e, rectified_at=at), updated_at=at)


def _address(rng: random.Random) -> str:
    return f"广州市天河区{rng.choice(STREETS)}{rng.randint(1, 600)}号"


def _pickup(case_id: str, subject: Subject, channel: str, received: dt.datetime) -> tuple[Consignment, ...]:
    """A courier case starts with EMS picking the materials up from the applicant."""
    if channel != "courier":
        return ()
    rng = random.Random(f"pickup/{case_id}")
    ordered = received - dt.timedelta(hours=rng.randint(20, 48))
    waybill = f"1{rng.randint(0, 10**11 - 1):011d}"
    picked = received - dt.timedelta(minutes=rng.randint(60, 600))
    return (
        Consignment(
            f"YJ{case_id}-1", "pickup", waybill, subject.phone, _address(rng), ordered, picked, "delivered"
        ),
    )


def _result_delivery(decided: CaseVersion) -> tuple[Consignment, ...]:
    """A certificate goes out by EMS for courier cases and for some online ones."""
    rng = random.Random(f"delivery/{decided.case_id}")
    if decided.certificate is None or decided.decided_at is None:
        return ()
    if decided.channel != "courier" and not (decided.channel == "online" and rng.random() < 0.3):
        return ()
    ordered = decided.decided_at + dt.timedelta(minutes=rng.randint(10, 120))
    waybill = f"1{rng.randint(0, 10**11 - 1):011d}"
    number = len(decided.consignments) + 1
    return (
        Consignment(
            f"YJ{decided.case_id}-{number}",
            "delivery",
            waybill,
            decided.subject.phone,
            _address(rng),
            ordered,
            None,
            "ordered",
        ),
    )


def _certificate(decided: CaseVersion) -> Certificate | None:
    kind = decided.item.certificate_type
    if decided.status != "completed" or kind is None or decided.decided_at is None:
        return None
    issued = decided.decided_at
    years = CERTIFICATE_YEARS.get(kind)
    # The day before the anniversary; a licence issued on 29 February runs to 27 February.
    valid_until = (
        dt.date(issued.year + years, issued.month, min(issued.day, 28)) - dt.timedelta(days=1)
        if years
        else None
    )
    return Certificate(f"ZZ{decided.case_id}", kind, issued, issued.date(), valid_until)


def _working_hours_time(rng: random.Random, day: dt.date) -> dt.datetime:
    minutes = rng.choice((9 * 60, 14 * 60)) + rng.randint(0, 179)
    at = dt.time(minutes // 60, minutes % 60, rng.randint(0, 59))
    return dt.datetime.combine(day, at, DISTRICT_TIMEZONE)


@dataclass(frozen=True)
class DayPlan:
    cases_per_working_day: int
    weekend_share: float = 0.15  # of a working day's volume, through the always-open channels


class District:
    """Generates each day's case versions in the order the department systems record them."""

    def __init__(
        self, seed: int, cases_per_day: int, start: dt.date, calendar: WorkingCalendar | None = None
    ):
        self.seed = seed
        self.plan = DayPlan(cases_per_day)
        self.calendar = calendar or load_calendar()
        if not self.calendar.covers(start):
            log.warning(
                "no holiday arrangement for %d in the working calendar: counting weekends only", start.year
            )
        # About three cases per subject over a month of simulation; enough overlap for reuse.
        self.pool = SubjectPool(seed, max(60, cases_per_day * 10), start)
        self.weights = [item.weight for item in CATALOGUE]
        self._pending: list[tuple[dt.datetime, int, CaseVersion]] = []
        self._serial = 0

    def _decide(self, rng: random.Random, opened: CaseVersion) -> CaseVersion:
        item = opened.item
        rounds = rng.choices((0, 1, 2), weights=(85, 12, 3))[0]
        if item.item_type == "instant" and rounds == 0:
            decided = opened.received_at + dt.timedelta(minutes=rng.randint(10, 90))
        else:
            # Most committed cases finish well inside the promise; a few run over it.
            promised = max(item.promised_days, 1)
            if rng.random() < 0.07:
                working = promised + rng.randint(1, 5)
            else:
                working = max(0, round(rng.triangular(0.2 * promised, promised, 0.6 * promised)))
            working += 2 * rounds
            day = self.calendar.add_working_days(opened.received_at.date(), working)
            decided = _working_hours_time(rng, day)
            if decided <= opened.received_at:
                decided = opened.received_at + dt.timedelta(hours=2)
        status = "not_permitted" if rng.random() < 0.03 else "completed"
        version = replace(
            opened, status=status, decided_at=decided, supplement_rounds=rounds, updated_at=decided
        )
        return replace(
            version,
            events=_decision_events(opened, version),
            certificate=_certificate(version),
            evaluation=_evaluation(version),
            consignments=(*opened.consignments, *_result_delivery(version)),
        )

    def _open(self, rng: random.Random, day: dt.date) -> CaseVersion | None:
        item = rng.choices(CATALOGUE, weights=self.weights)[0]
        channel = rng.choices(CHANNELS, weights=CHANNEL_WEIGHTS)[0]
        working_day = self.calendar.is_working_day(day)
        if not working_day and channel not in ALWAYS_OPEN:
            return None
        if channel in ALWAYS_OPEN:
            received = dt.datetime.combine(day, dt.time(), DISTRICT_TIMEZONE) + dt.timedelta(
                seconds=rng.randint(7 * 3600, 23 * 3600)
            )
        else:
            received = _working_hours_time(rng, day)
        self._serial += 1
        prefix = item.code.split("-")[0]
        case_id = f"{prefix}{day:%Y%m%d}{self._serial:07d}"
        subject = self.pool.pick(rng, item.subject_type)
        # Counted from the first working day on or after receipt.
        start = day if working_day else self.calendar.add_working_days(day, 1)
        promised = (
            self.calendar.add_working_days(start, item.promised_days)
            if item.item_type != "instant"
            else start
        )
        return CaseVersion(
            case_id=case_id,
            department=item.department,
            subject=subject,
            item=item,
            channel=channel,
            status="accepted",
            received_at=received,
            decided_at=None,
            promised_deadline=promised,
            supplement_rounds=0,
            updated_at=received,
            materials=_materials(case_id, subject, item, received, rng),
            events=_received_events(case_id, channel, received),
            consignments=_pickup(case_id, subject, channel, received),
            verification_code=verification_code(self.seed, case_id),
        )

    def day(self, day: dt.date) -> Iterator[CaseVersion]:
        """Every case version recorded on `day`, in time order: receipts, refusals and decisions."""
        rng = random.Random(f"{self.seed}/day/{day.isoformat()}")
        volume = self.plan.cases_per_working_day
        if not self.calendar.is_working_day(day):
            volume = max(1, int(volume * self.plan.weekend_share))
        todays: list[CaseVersion] = []
        for _ in range(volume):
            opened = self._open(rng, day)
            if opened is None:
                continue
            if rng.random() < 0.04:
                # Not accepted at the window: incomplete or outside the department's remit.
                refused_at = opened.received_at + dt.timedelta(minutes=rng.randint(5, 40))
                refused = _event(
                    opened.case_id,
                    opened.events,
                    "not_accepted",
                    refused_at,
                    role="window_clerk",
                    rng=random.Random(opened.case_id),
                )
                todays.append(
                    replace(
                        opened,
                        status="not_accepted",
                        decided_at=refused_at,
                        updated_at=refused_at,
                        events=refused,
                    )
                )
                continue
            decided = self._decide(rng, opened)
            rectified = _rectification(decided, self.calendar)
            if rectified is not None:
                heapq.heappush(self._pending, (rectified.updated_at, self._serial, rectified))
            if decided.updated_at.date() == day:
                todays.append(decided)  # decided on the spot: the system keeps only the final state
            else:
                todays.append(opened)
                heapq.heappush(self._pending, (decided.updated_at, self._serial, decided))
        end_of_day = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), DISTRICT_TIMEZONE)
        while self._pending and self._pending[0][0] < end_of_day:
            todays.append(heapq.heappop(self._pending)[2])
        todays.sort(key=lambda version: version.updated_at)
        yield from todays

    def days(self, first: dt.date, count: int) -> Iterator[tuple[dt.date, list[CaseVersion]]]:
        """Each day's versions; only one day's list and the open cases are in memory at once."""
        for offset in range(count):
            day = first + dt.timedelta(days=offset)
            yield day, list(self.day(day))
