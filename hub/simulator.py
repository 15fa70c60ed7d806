"""A simulator of department approval systems, since the real ones are not reachable from here.

Each department exports the day's updated cases in its own format, field names and code values,
as real systems do. Subjects are shared across departments (an entity that registers also asks
for a food licence), so the hub has something to join. A small, seeded share of rows is dirty.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random
from dataclasses import dataclass, field
from pathlib import Path

from hub.identifiers import credit_code_check_char, resident_id_check_char

TIANHE_REGION = "440106"
SURNAMES = "陈李张黄王林刘吴梁何郭杨罗郑谢周蔡徐邓冯"
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
]
SHOP_WORDS = ["粤香", "天河", "岭南", "珠江", "五羊", "花城", "羊城", "骏景", "石牌", "员村"]
SHOP_KINDS = ["餐饮有限公司", "食品店", "茶餐厅", "烧腊店", "贸易有限公司"]


@dataclass(frozen=True)
class Subject:
    subject_id: str
    subject_type: str  # person | entity
    name: str


@dataclass(frozen=True)
class CaseRecord:
    case_id: str
    subject: Subject
    item_code: str
    item_name: str
    channel: str  # contract code: window | online | wechat | kiosk
    status: str  # contract code: accepted | completed | not_accepted
    received_at: dt.datetime
    decided_at: dt.datetime | None
    materials: list[str] = field(default_factory=list)


def resident_id(rng: random.Random, today: dt.date) -> str:
    birth = today - dt.timedelta(days=rng.randint(18 * 365, 70 * 365))
    body = f"{TIANHE_REGION}{birth:%Y%m%d}{rng.randint(0, 999):03d}"
    return body + resident_id_check_char(body)


def credit_code(rng: random.Random) -> str:
    org = "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(9))
    body = f"91{TIANHE_REGION}{org}"
    return body + credit_code_check_char(body)


def make_subjects(rng: random.Random, persons: int, entities: int, today: dt.date) -> list[Subject]:
    subjects = [
        Subject(resident_id(rng, today), "person", rng.choice(SURNAMES) + rng.choice(GIVEN_NAMES))
        for _ in range(persons)
    ]
    subjects += [
        Subject(credit_code(rng), "entity", "广州市" + rng.choice(SHOP_WORDS) + rng.choice(SHOP_KINDS))
        for _ in range(entities)
    ]
    return subjects


@dataclass(frozen=True)
class Item:
    code: str
    name: str
    subject_type: str
    promised_days: int
    materials: tuple[str, ...]


MARKET_ITEMS = (
    Item(
        "SCJG-0101-01",
        "企业设立登记",
        "entity",
        3,
        ("id_card_copy", "lease_contract", "articles_of_association"),
    ),
    Item("SCJG-0102-01", "个体工商户设立登记", "person", 1, ("id_card_copy", "lease_contract")),
)
FOOD_ITEMS = (
    Item(
        "SYJ-0201-01",
        "食品经营许可证核发（低风险）",
        "entity",
        5,
        ("business_licence", "floor_plan", "id_card_copy"),
    ),
    Item("SYJ-0202-01", "小餐饮登记", "person", 3, ("id_card_copy", "health_certificate")),
)


def _case(rng: random.Random, case_id: str, subject: Subject, item: Item, day: dt.date) -> CaseRecord:
    received = dt.datetime.combine(day - dt.timedelta(days=rng.randint(0, 20)), dt.time(9)) + dt.timedelta(
        minutes=rng.randint(0, 480)
    )
    roll = rng.random()
    status = "completed" if roll < 0.7 else ("accepted" if roll < 0.93 else "not_accepted")
    decided = (
        received + dt.timedelta(days=rng.randint(0, item.promised_days + 2)) if status != "accepted" else None
    )
    if decided is not None and decided.date() > day:
        # Not decided yet as of the export day: the case is still open.
        status, decided = "accepted", None
    channel = rng.choices(["window", "online", "wechat", "kiosk"], weights=[5, 3, 2, 1])[0]
    return CaseRecord(
        case_id,
        subject,
        item.code,
        item.name,
        channel,
        status,
        received,
        decided,
        list(item.materials),
    )


def _dirty_id(rng: random.Random, subject_id: str) -> str:
    """A mistyped check character: the most common real-world id error."""
    last = subject_id[-1]
    return subject_id[:-1] + rng.choice([c for c in "0123456789" if c != last])


MARKET_HEADERS = [
    "办件编号",
    "申请人证件号码",
    "申请人名称",
    "主体类型",
    "事项编码",
    "事项名称",
    "受理渠道",
    "办件状态",
    "受理时间",
    "办结时间",
]
MARKET_CHANNELS = {"window": "窗口", "online": "网上办事大厅", "wechat": "微信", "kiosk": "自助终端"}
MARKET_STATUSES = {"accepted": "受理中", "completed": "已办结", "not_accepted": "不予受理"}
MARKET_SUBJECT_TYPES = {"person": "自然人", "entity": "法人"}


def market_regulation_csv(cases: list[CaseRecord], rng: random.Random, dirty_rate: float) -> bytes:
    """Market regulation's export: CSV in GBK with Chinese headers and Chinese code values."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(MARKET_HEADERS)
    for case in cases:
        sid = (
            _dirty_id(rng, case.subject.subject_id) if rng.random() < dirty_rate else case.subject.subject_id
        )
        writer.writerow(
            [
                case.case_id,
                sid,
                case.subject.name,
                MARKET_SUBJECT_TYPES[case.subject.subject_type],
                case.item_code,
                case.item_name,
                MARKET_CHANNELS[case.channel],
                MARKET_STATUSES[case.status],
                f"{case.received_at:%Y-%m-%d %H:%M:%S}",
                f"{case.decided_at:%Y-%m-%d %H:%M:%S}" if case.decided_at else "",
            ]
        )
    return out.getvalue().encode("gbk")


def food_drug_jsonl(cases: list[CaseRecord], rng: random.Random, dirty_rate: float) -> bytes:
    """Food and drug's export: JSON Lines, camelCase English fields, nested applicant and materials."""
    lines = []
    for case in cases:
        sid = (
            _dirty_id(rng, case.subject.subject_id) if rng.random() < dirty_rate else case.subject.subject_id
        )
        record = {
            "caseNo": case.case_id,
            "applicant": {
                "idNo": sid,
                "name": case.subject.name,
                "kind": "P" if case.subject.subject_type == "person" else "E",
            },
            "item": {"code": case.item_code, "title": case.item_name},
            "channel": case.channel.upper(),
            "state": {"accepted": "IN_PROGRESS", "completed": "DONE", "not_accepted": "REJECTED"}[
                case.status
            ],
            "receivedAt": case.received_at.isoformat(timespec="seconds"),
            "decidedAt": case.decided_at.isoformat(timespec="seconds") if case.decided_at else None,
            "materials": [{"type": m, "file": f"{case.case_id}/{m}.pdf"} for m in case.materials],
        }
        lines.append(json.dumps(record, ensure_ascii=False))
    return ("\n".join(lines) + "\n").encode("utf-8")


def simulate_day(
    out_dir: Path, day: dt.date, seed: int = 7, subjects: int = 120, dirty_rate: float = 0.03
) -> dict[str, Path]:
    """Write each department's export for `day` under out_dir/<department>/<day>/; return the files."""
    rng = random.Random(seed)
    people = make_subjects(rng, persons=subjects // 2, entities=subjects - subjects // 2, today=day)
    market_cases: list[CaseRecord] = []
    food_cases: list[CaseRecord] = []
    for subject in people:
        # Most subjects start at market regulation; about half of them then go on to food and drug.
        market_item = next(i for i in MARKET_ITEMS if i.subject_type == subject.subject_type)
        food_item = next(i for i in FOOD_ITEMS if i.subject_type == subject.subject_type)
        if rng.random() < 0.9:
            market_cases.append(
                _case(rng, f"SC{day:%Y%m%d}{len(market_cases):05d}", subject, market_item, day)
            )
        if rng.random() < 0.55:
            food_cases.append(_case(rng, f"SY{day:%Y%m%d}{len(food_cases):05d}", subject, food_item, day))
    files = {
        "market_regulation": out_dir / "market_regulation" / day.isoformat() / "cases.csv",
        "food_drug": out_dir / "food_drug" / day.isoformat() / "cases.jsonl",
    }
    payloads = {
        "market_regulation": market_regulation_csv(market_cases, rng, dirty_rate),
        "food_drug": food_drug_jsonl(food_cases, rng, dirty_rate),
    }
    for department, path in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(payloads[department])
    return files
