"""How each simulated department system records a case: its own field names, codes and formats.

These are the departments' truths, written independently of the hub's mappings in
contracts/mappings/, so a mapping mistake shows up as quarantined rows instead of being copied.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hub.simulator.world import CaseEvent, CaseVersion, Material, Subject

SourceRecord = dict[str, Any]


def _day(value: dt.date | None, fmt: str) -> str | None:
    return value.strftime(fmt) if value else None


def _events(
    case: CaseVersion, keys: tuple[str, ...], when: Callable[[dt.datetime], Any]
) -> list[dict[str, Any]]:
    """The case's flow log under the department's own keys for: id, type, time, actor role, actor,
    window, fee, record version."""

    def fields(e: CaseEvent) -> tuple[Any, ...]:
        return (
            e.event_id,
            e.event_type,
            when(e.event_at),
            e.actor_role,
            e.actor_id,
            e.window_id,
            e.fee_amount,
            1,
        )

    return [dict(zip(keys, fields(e), strict=True)) for e in case.events]


def _certificate(
    case: CaseVersion,
    keys: tuple[str, ...],
    when: Callable[[dt.datetime], Any],
    *,
    day_format: str,
    issuer: str,
    valid: str,
) -> dict[str, Any] | None:
    """The certificate the case issued, under the department's own keys for: number, type, issuer,
    issued at, valid from, valid until, status."""
    c = case.certificate
    if c is None:
        return None
    values = (
        c.certificate_id,
        c.certificate_type,
        issuer,
        when(c.issued_at),
        _day(c.valid_from, day_format),
        _day(c.valid_until, day_format),
        valid,
    )
    return dict(zip(keys, values, strict=True))


def _evaluation(
    case: CaseVersion, keys: tuple[str, ...], when: Callable[[dt.datetime], Any]
) -> dict[str, Any] | None:
    """The applicant's rating, under the department's own keys for: id, channel, score, rating,
    comment, time, and the time a poor one was rectified."""
    e = case.evaluation
    if e is None:
        return None
    rectified = when(e.rectified_at) if e.rectified_at else None
    values = (e.evaluation_id, e.channel, e.score, e.rating, e.comment, when(e.evaluated_at), rectified)
    return dict(zip(keys, values, strict=True))


def _consignments(
    case: CaseVersion, keys: tuple[str, ...], when: Callable[[dt.datetime], Any]
) -> list[dict[str, Any]]:
    """The case's EMS consignments, under the department's own keys for: id, direction, waybill,
    mobile, address, ordered, delivered, status."""
    return [
        dict(
            zip(
                keys,
                (
                    c.delivery_id,
                    c.direction,
                    c.waybill_no,
                    c.recipient_mobile,
                    c.address,
                    when(c.ordered_at),
                    when(c.delivered_at) if c.delivered_at else None,
                    c.status,
                ),
                strict=True,
            )
        )
        for c in case.consignments
    ]


def _json_text(value: list[dict[str, Any]] | dict[str, Any] | None) -> str | None:
    """A list or an object as the JSON text a CSV cell or a database column holds."""
    return None if value is None else json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# The material types' names as the market regulation system prints them.
MATERIAL_NAMES = {
    "application_form": "申请表",
    "id_card_copy": "居民身份证复印件",
    "business_licence": "营业执照",
    "legal_representative_id": "法定代表人身份证明",
    "power_of_attorney": "授权委托书",
    "articles_of_association": "公司章程",
    "lease_contract": "房屋租赁合同",
    "property_certificate": "房屋产权证明",
    "floor_plan": "经营场所平面图",
    "health_certificate": "从业人员健康证明",
    "food_safety_rules": "食品安全管理制度",
    "fire_safety_acceptance": "消防验收意见",
    "environmental_assessment": "环境影响评价批复",
    "construction_drawings": "施工图审查合格书",
    "labour_contract": "劳动合同",
}


def _ts(value: dt.datetime | None, fmt: str) -> str:
    return value.strftime(fmt) if value else ""


def _millis(value: dt.datetime | None) -> int | None:
    return int(value.timestamp() * 1000) if value else None


MARKET_REGULATION_COLUMNS = (
    "办件编号",
    "申请人证件号码",
    "申请人名称",
    "主体类型",
    "事项编码",
    "事项名称",
    "受理渠道",
    "办件状态",
    "办理层级",
    "受理时间",
    "办结时间",
    "承诺办结日期",
    "更新时间",
    "材料清单",
    "办理环节",
    "证照信息",
    "评价信息",
    "寄递信息",
    "申请人信息",
    "查询码",
)

ENTITY_TYPE_NAMES = {
    "limited_company": "有限责任公司",
    "individual_business": "个体工商户",
    "sole_proprietorship": "个人独资企业",
}


def _birth_and_gender(resident_id: str) -> tuple[dt.date, str]:
    """What a resident ID number itself says (GB 11643): birth date, and sex by its 17th digit."""
    born = dt.date(int(resident_id[6:10]), int(resident_id[10:12]), int(resident_id[12:14]))
    return born, "male" if int(resident_id[16]) % 2 else "female"


def _market_regulation_applicant(subject: Subject) -> dict[str, Any]:
    """The register's view of the applicant: the full entity record, the person's ID card details."""
    if subject.subject_type == "entity":
        return {
            "企业类型": ENTITY_TYPE_NAMES[subject.entity_type or "limited_company"],
            "法定代表人证件号码": subject.legal_representative_id,
            "注册资本": f"{subject.registered_capital:.2f}",
            "成立日期": _day(subject.established, "%Y-%m-%d"),
            "登记状态": "存续",
            "联系电话": subject.phone,
        }
    born, gender = _birth_and_gender(subject.subject_id)
    return {
        "性别": {"male": "男", "female": "女"}[gender],
        "出生日期": f"{born:%Y-%m-%d}",
        "证件有效期至": _day(subject.id_expiry, "%Y-%m-%d"),
        "联系电话": subject.phone,
        "住址": subject.address,
    }


def _food_drug_applicant(subject: Subject) -> dict[str, Any]:
    """The food and drug system keeps less, and an older phone number for some applicants."""
    person = subject.subject_type == "person"
    return {
        "idNo": subject.subject_id,
        "name": subject.name,
        "kind": "P" if person else "E",
        "mobile": subject.stale_phone or subject.phone,
        "gender": {"male": "M", "female": "F"}[_birth_and_gender(subject.subject_id)[1]] if person else None,
        "legalRep": subject.legal_representative_id,
    }


def _market_regulation_material(m: Material) -> dict[str, Any]:
    return {
        "材料编号": m.material_id,
        "材料名称": MATERIAL_NAMES[m.material_type],
        "文件路径": m.object_key,
        "文件摘要": m.sha256,
        "审核结果": "通过" if m.accepted else "不通过",
        "有效期至": _day(m.valid_until, "%Y-%m-%d") or "",
    }


def market_regulation(case: CaseVersion) -> SourceRecord:
    """市场监管局: a nightly CSV in GBK, Chinese headers and Chinese code values."""
    fmt = "%Y-%m-%d %H:%M:%S"
    return {
        "办件编号": case.case_id,
        "申请人证件号码": case.subject.subject_id,
        "申请人名称": case.subject.name,
        "主体类型": {"person": "自然人", "entity": "法人"}[case.subject.subject_type],
        "事项编码": case.item.code,
        "事项名称": case.item.name,
        "受理渠道": {
            "window": "窗口",
            "online": "网上办事大厅",
            "wechat": "微信",
            "kiosk": "自助终端",
            "courier": "EMS快递",
        }[case.channel],
        "办件状态": {
            "accepted": "受理中",
            "completed": "已办结",
            "not_accepted": "不予受理",
            "not_permitted": "不予许可",
        }[case.status],
        "办理层级": {"district": "区级", "street": "街道", "community": "社区"}[case.item.handling_tier],
        "受理时间": _ts(case.received_at, fmt),
        "办结时间": _ts(case.decided_at, fmt),
        "承诺办结日期": f"{case.promised_deadline:%Y-%m-%d}" if case.promised_deadline else "",
        "更新时间": _ts(case.updated_at, fmt),
        "材料清单": _json_text([_market_regulation_material(m) for m in case.materials]),
        "办理环节": _json_text(
            _events(
                case,
                ("环节编号", "环节类型", "办理时间", "办理人角色", "办理人", "窗口号", "收费金额", "版本号"),
                lambda t: _ts(t, fmt),
            )
        ),
        "证照信息": _json_text(
            _certificate(
                case,
                ("证照编号", "证照类型", "发证机关", "发证时间", "有效期起", "有效期止", "证照状态"),
                lambda t: _ts(t, fmt),
                day_format="%Y-%m-%d",
                issuer="区市场监督管理局",
                valid="有效",
            )
        )
        or "",
        "评价信息": _json_text(
            _evaluation(
                case,
                ("评价编号", "评价渠道", "评分", "评价等级", "评价内容", "评价时间", "整改时间"),
                lambda t: _ts(t, fmt),
            )
        )
        or "",
        "寄递信息": _json_text(
            _consignments(
                case,
                ("寄递编号", "寄递方向", "运单号", "收件人手机", "地址", "下单时间", "妥投时间", "寄递状态"),
                lambda t: _ts(t, fmt),
            )
        ),
        "申请人信息": _json_text(_market_regulation_applicant(case.subject)),
        "查询码": case.verification_code,
    }


# Which department issued a material, in the food and drug system's own abbreviations.
FOOD_DRUG_ISSUERS = {"business_licence": "SCJG", "health_certificate": "WJJ", "property_certificate": "ZJJ"}


def food_drug(case: CaseVersion) -> SourceRecord:
    """食药监局: JSON Lines, camelCase English fields, nested applicant, item and materials."""
    fmt = "%Y-%m-%dT%H:%M:%S"
    return {
        "caseNo": case.case_id,
        "applicant": _food_drug_applicant(case.subject),
        "item": {"code": case.item.code, "title": case.item.name, "tier": case.item.handling_tier.upper()},
        "channel": {"courier": "EMS"}.get(case.channel, case.channel.upper()),
        "state": {
            "accepted": "IN_PROGRESS",
            "completed": "DONE",
            "not_accepted": "REJECTED",
            "not_permitted": "DENIED",
        }[case.status],
        "receivedAt": _ts(case.received_at, fmt),
        "decidedAt": _ts(case.decided_at, fmt) or None,
        "deadline": f"{case.promised_deadline:%Y-%m-%d}" if case.promised_deadline else None,
        "updatedAt": _ts(case.updated_at, fmt),
        "materials": [
            {
                "id": m.material_id,
                "type": m.material_type,
                "file": m.object_key,
                "sha256": m.sha256,
                "accepted": m.accepted,
                "validUntil": _day(m.valid_until, "%Y-%m-%d"),
                "issuer": FOOD_DRUG_ISSUERS.get(m.material_type),
            }
            for m in case.materials
        ],
        "events": _events(
            case, ("id", "type", "at", "role", "by", "window", "fee", "ver"), lambda t: _ts(t, fmt)
        ),
        "licence": _certificate(
            case,
            ("no", "kind", "issuer", "issuedAt", "validFrom", "validTo", "status"),
            lambda t: _ts(t, fmt),
            day_format="%Y-%m-%d",
            issuer="区食品药品监督管理局",
            valid="VALID",
        ),
        "evaluation": _evaluation(
            case, ("id", "channel", "score", "rating", "comment", "at", "rectifiedAt"), lambda t: _ts(t, fmt)
        ),
        "deliveries": _consignments(
            case,
            ("id", "direction", "waybill", "mobile", "address", "orderedAt", "deliveredAt", "status"),
            lambda t: _ts(t, fmt),
        ),
        # The online hall prints its receipts' codes in lower case.
        "receipt": {"queryCode": case.verification_code.lower()},
    }


def housing_construction(case: CaseVersion) -> SourceRecord:
    """住建局: rows of its case table, served page by page over HTTP; times in epoch milliseconds."""
    return {
        "case_no": case.case_id,
        "applicant_cert_no": case.subject.subject_id,
        "applicant_name": case.subject.name,
        "applicant_kind": 1 if case.subject.subject_type == "person" else 2,
        "matter_code": case.item.code,
        "matter_name": case.item.name,
        "source_channel": {"window": "01", "online": "02", "wechat": "03", "kiosk": "04", "courier": "05"}[
            case.channel
        ],
        "case_state": {"accepted": "20", "completed": "50", "not_accepted": "90", "not_permitted": "80"}[
            case.status
        ],
        "handle_level": {"district": "1", "street": "2", "community": "3"}[case.item.handling_tier],
        "accept_time": _millis(case.received_at),
        "finish_time": _millis(case.decided_at),
        "promise_date": f"{case.promised_deadline:%Y-%m-%d}" if case.promised_deadline else None,
        "modify_time": _millis(case.updated_at),
        "query_pwd": case.verification_code,
        "materials": [
            {
                "material_no": m.material_id,
                "material_code": m.material_type,
                "object_key": m.object_key,
                "digest": m.sha256,
                "audit_pass": 1 if m.accepted else 0,
                "expire_date": _day(m.valid_until, "%Y-%m-%d"),
            }
            for m in case.materials
        ],
        "flows": _events(
            case,
            ("flow_no", "flow_type", "flow_time", "operator_role", "operator", "window_no", "fee", "version"),
            _millis,
        ),
        "cert": _certificate(
            case,
            ("cert_no", "cert_type", "issue_org", "issue_time", "begin_date", "end_date", "cert_state"),
            _millis,
            day_format="%Y-%m-%d",
            issuer="区住房和建设局",
            valid="1",
        ),
        "evaluation": _evaluation(
            case,
            (
                "eval_no",
                "eval_channel",
                "eval_score",
                "eval_level",
                "eval_content",
                "eval_time",
                "rectify_time",
            ),
            _millis,
        ),
        "express": _consignments(
            case,
            (
                "order_no",
                "direction",
                "mail_no",
                "receiver_phone",
                "receiver_addr",
                "order_time",
                "sign_time",
                "mail_state",
            ),
            _millis,
        ),
    }


def human_resources(case: CaseVersion) -> SourceRecord:
    """人社局: an Oracle-style table with pinyin-initial column names, read over JDBC."""
    fmt = "%Y%m%d%H%M%S"
    return {
        "BJBH": case.case_id,
        "ZJHM": case.subject.subject_id,
        "SQRMC": case.subject.name,
        "ZTLX": "1" if case.subject.subject_type == "person" else "2",
        "SXBM": case.item.code,
        "SXMC": case.item.name,
        "SLQD": {"window": "CK", "online": "WT", "wechat": "WX", "kiosk": "ZZ", "courier": "KD"}[
            case.channel
        ],
        "BJZT": {"accepted": "SL", "completed": "BJ", "not_accepted": "BSL", "not_permitted": "BXK"}[
            case.status
        ],
        "BLCJ": {"district": "QJ", "street": "JD", "community": "SQ"}[case.item.handling_tier],
        "SLSJ": _ts(case.received_at, fmt),
        "BJSJ": _ts(case.decided_at, fmt) or None,
        "CNBJRQ": f"{case.promised_deadline:%Y%m%d}" if case.promised_deadline else None,
        "GXSJ": _ts(case.updated_at, fmt),
        "CXM": case.verification_code,  # 查询码
        # 材料信息: the attached materials, kept by the system as JSON text in one column.
        "CLXX": _json_text(
            [
                {
                    "CLBH": m.material_id,
                    "CLLX": m.material_type,
                    "WJLJ": m.object_key,
                    "WJZY": m.sha256,
                    "SHJG": "1" if m.accepted else "0",
                    "YXQZ": _day(m.valid_until, "%Y%m%d"),
                }
                for m in case.materials
            ]
        ),
        # 环节信息: the flow log, as JSON text too.
        "HJXX": _json_text(
            _events(
                case, ("HJBH", "HJLX", "BLSJ", "BLRJS", "BLR", "CKH", "SFJE", "BBH"), lambda t: _ts(t, fmt)
            )
        ),
        # 证照信息: the certificate issued, if any, as JSON text.
        "ZZXX": _json_text(
            _certificate(
                case,
                ("ZZBH", "ZZLX", "FZJG", "FZSJ", "YXQQ", "YXQZ", "ZZZT"),
                lambda t: _ts(t, fmt),
                day_format="%Y%m%d",
                issuer="区人力资源和社会保障局",
                valid="1",
            )
        ),
        "PJXX": _json_text(
            _evaluation(case, ("PJBH", "PJQD", "PF", "PJDJ", "PJNR", "PJSJ", "ZGSJ"), lambda t: _ts(t, fmt))
        ),
        "JDXX": _json_text(
            _consignments(
                case, ("JDBH", "JDFX", "YDH", "SJRSJ", "DZ", "XDSJ", "TTSJ", "JDZT"), lambda t: _ts(t, fmt)
            )
        ),
    }


def health(case: CaseVersion) -> SourceRecord:
    """卫健局: JSON documents dropped into its bucket; snake_case fields, numeric code strings."""
    fmt = "%Y/%m/%d %H:%M:%S"
    return {
        "case_id": case.case_id,
        "applicant": {
            "id_number": case.subject.subject_id,
            "name": case.subject.name,
            "type": "1" if case.subject.subject_type == "person" else "2",
        },
        "service_code": case.item.code,
        "service_name": case.item.name,
        "channel": {"window": "1", "online": "2", "wechat": "3", "kiosk": "4", "courier": "5"}[case.channel],
        "status": {"accepted": "1", "completed": "2", "not_accepted": "3", "not_permitted": "4"}[case.status],
        "level": {"district": "1", "street": "2", "community": "3"}[case.item.handling_tier],
        "received": _ts(case.received_at, fmt),
        "decided": _ts(case.decided_at, fmt) or None,
        "due": f"{case.promised_deadline:%Y/%m/%d}" if case.promised_deadline else None,
        "last_modified": _ts(case.updated_at, fmt),
        # Printed on the receipt in two groups of four.
        "receipt_code": f"{case.verification_code[:4]} {case.verification_code[4:]}",
        "attachments": [
            {
                "attachment_id": m.material_id,
                "category": m.material_type,
                "path": m.object_key,
                "sha256": m.sha256,
                "approved": m.accepted,
                "expires": _day(m.valid_until, "%Y/%m/%d"),
            }
            for m in case.materials
        ],
        "steps": _events(
            case,
            ("step_id", "step", "time", "role", "operator", "window", "fee", "version"),
            lambda t: _ts(t, fmt),
        ),
        "certificate": _certificate(
            case,
            ("number", "type", "issued_by", "issued", "valid_from", "valid_until", "state"),
            lambda t: _ts(t, fmt),
            day_format="%Y/%m/%d",
            issuer="区卫生健康局",
            valid="1",
        ),
        "rating": _evaluation(
            case,
            ("evaluation_id", "channel", "score", "level", "comment", "time", "rectified_time"),
            lambda t: _ts(t, fmt),
        ),
        "post": _consignments(
            case,
            ("delivery_id", "direction", "waybill_no", "mobile", "address", "ordered", "delivered", "status"),
            lambda t: _ts(t, fmt),
        ),
    }


@dataclass(frozen=True)
class SourceShape:
    """What the dirty-data injector needs to know about a department's records."""

    record: Callable[[CaseVersion], SourceRecord]
    id_path: tuple[str, ...]
    name_path: tuple[str, ...]
    channel_path: tuple[str, ...]
    unknown_channel: str
    updated_path: tuple[str, ...]


SHAPES: dict[str, SourceShape] = {
    "market_regulation": SourceShape(
        market_regulation, ("申请人证件号码",), ("申请人名称",), ("受理渠道",), "传真", ("更新时间",)
    ),
    "food_drug": SourceShape(
        food_drug, ("applicant", "idNo"), ("applicant", "name"), ("channel",), "FAX", ("updatedAt",)
    ),
    "housing_construction": SourceShape(
        housing_construction,
        ("applicant_cert_no",),
        ("applicant_name",),
        ("source_channel",),
        "09",
        ("modify_time",),
    ),
    "human_resources": SourceShape(human_resources, ("ZJHM",), ("SQRMC",), ("SLQD",), "CZ", ("GXSJ",)),
    "health": SourceShape(
        health, ("applicant", "id_number"), ("applicant", "name"), ("channel",), "9", ("last_modified",)
    ),
}
