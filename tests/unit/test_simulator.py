"""The simulator: deterministic for a seed, five departments, a real catalogue, counted faults."""

import datetime as dt
import hashlib

import pytest

from hub.settings import Settings
from hub.simulator import DirtyRates, simulate
from hub.simulator.catalogue import CATALOGUE
from hub.simulator.world import District
from quality.contracts import load_code_lists

pytestmark = pytest.mark.unit


def _digest(root) -> str:
    # _sent/ records where each export went, which differs between the two homes.
    files = sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and p.suffix in {".csv", ".jsonl", ".json"} and "_sent" not in p.parts
    )
    return hashlib.sha256(b"".join(p.read_bytes() for p in files)).hexdigest()


def test_same_seed_same_exports(tmp_path) -> None:
    for run in ("a", "b"):
        simulate(Settings(home=tmp_path / run), dt.date(2026, 11, 23), days=2, seed=9, cases_per_day=30)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")


def test_every_department_sends_and_faults_are_counted(tmp_path) -> None:
    sent = simulate(
        Settings(home=tmp_path),
        dt.date(2026, 11, 23),
        days=2,
        seed=4,
        cases_per_day=200,
        dirty=DirtyRates(bad_check_char=0.05, duplicate=0.05),
    )
    departments = {s.department for s in sent if s.records}
    assert departments == {
        "market_regulation",
        "food_drug",
        "housing_construction",
        "human_resources",
        "health",
    }
    faults = {
        k: sum(s.faults.get(k, 0) for s in sent) for k in ("bad_check_char", "duplicate", "out_of_order")
    }
    assert all(n > 0 for n in faults.values()), faults


def test_catalogue_uses_only_shared_codes() -> None:
    codes = load_code_lists()
    for item in CATALOGUE:
        assert item.department in codes["department"]
        assert item.item_type in codes["item_type"]
        assert item.risk_tier in codes["risk_tier"]
        assert item.handling_tier in codes["handling_tier"]
        assert set(item.joint_departments) <= codes["department"]
        assert item.certificate_type is None or item.certificate_type in codes["certificate_type"]
        for requirement in item.requirements:
            assert requirement.material_type in codes["material_type"]
            assert requirement.validity_rule in codes["validity_rule"]
    assert {item.item_type for item in CATALOGUE} == {"instant", "committed", "joint"}


def test_cases_are_plausible() -> None:
    district = District(seed=1, cases_per_day=400, start=dt.date(2026, 11, 2))
    versions = [v for _, day in district.days(dt.date(2026, 11, 2), 20) for v in day]
    decided = [v for v in versions if v.status in ("completed", "not_permitted")]
    late = [
        v
        for v in decided
        if v.promised_deadline and v.decided_at and v.decided_at.date() > v.promised_deadline
    ]
    assert 0.01 < len(late) / len(decided) < 0.2  # some cases run over their promise, most do not
    assert {v.status for v in versions} == {"accepted", "completed", "not_accepted", "not_permitted"}
    assert {v.channel for v in versions} == {"window", "online", "wechat", "kiosk", "courier"}
    subjects_by_department: dict[str, set[str]] = {}
    for v in versions:
        subjects_by_department.setdefault(v.subject.subject_id, set()).add(v.department)
    assert max(len(d) for d in subjects_by_department.values()) >= 3  # the same subject applies in several
    assert all(v.decided_at is None or v.decided_at >= v.received_at for v in versions)


def test_poor_evaluations_are_sent_again_when_rectified() -> None:
    district = District(seed=2, cases_per_day=300, start=dt.date(2026, 9, 1))
    versions = [v for _, day in district.days(dt.date(2026, 9, 1), 60) for v in day]
    rectified = [v for v in versions if v.evaluation and v.evaluation.rectified_at]
    poor = {v.case_id for v in versions if v.evaluation and v.evaluation.score <= 2}
    assert rectified
    assert {v.case_id for v in rectified} < poor  # some are never rectified
    calendar = district.calendar
    took = []
    for v in rectified:
        assert v.evaluation is not None
        assert v.evaluation.rectified_at is not None
        assert v.updated_at == v.evaluation.rectified_at > v.evaluation.evaluated_at
        given, done = v.evaluation.evaluated_at.date(), v.evaluation.rectified_at.date()
        took.append(
            sum(calendar.is_working_day(given + dt.timedelta(days=n + 1)) for n in range((done - given).days))
        )
    # Most within the 15 working days the reform allows, some later.
    assert sum(t <= 15 for t in took) > sum(t > 15 for t in took) > 0
