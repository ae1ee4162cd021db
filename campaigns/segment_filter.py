"""The segment filter document (DESIGN §11), parsed into typed nodes; errors name the path of the bad field."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

RFM_TIERS: Final = (
    "重要价值客户",
    "重要发展客户",
    "重要保持客户",
    "重要挽留客户",
    "一般价值客户",
    "一般发展客户",
    "一般保持客户",
    "一般挽留客户",
    "未购客户",
)
CHANNELS: Final = ("kf", "group", "single", "oa")
STATUSES: Final = ("contact", "group_only", "lost")
NPS_CATEGORIES: Final = ("detractor", "passive", "promoter")
MAX_DAYS: Final = 36500


class FilterError(ValueError):
    """A filter document that cannot be used; the message starts with the path of the bad field, then says what was
    expected in Chinese for the manager and in English ("all[0].group.x: 没有这个运算符，可用：in、any / unknown
    operator; expected one of: in, any")."""

    def __init__(self, path: str, expected: str, zh: str) -> None:
        super().__init__(f"{path or '(filter)'}: {zh} / {expected}")
        self.path = path


@dataclass(frozen=True, slots=True)
class AllOf:
    parts: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    parts: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    part: Node


@dataclass(frozen=True, slots=True)
class Condition:
    """One field test: `field` names it, `spec` holds its validated operators (e.g. {"older_than_days": 30})."""

    field: str
    spec: Mapping[str, Any]


Node = AllOf | AnyOf | Not | Condition

# A filter document may carry these alongside its tree; they are not conditions.
DOCUMENT_KEYS: Final = frozenset({"name", "description"})


def parse_filter(document: object, path: str = "") -> Node:
    """Parse a filter document (a mapping with one of all/any/not or a field) into a node tree."""
    if not isinstance(document, Mapping):
        raise FilterError(
            path,
            "expected a mapping such as {all: [...]} or {tags: {any: [VIP]}}",
            "应为 {all: [...]} 或 {tags: {any: [VIP]}} 这样的映射",
        )
    keys = [key for key in document if key not in DOCUMENT_KEYS or path]
    if len(keys) != 1:
        found = ", ".join(map(str, keys)) or "nothing"
        raise FilterError(
            path,
            f"expected exactly one of all, any, not or a field name; found {found}",
            f"只能有一个 all、any、not 或字段名，这里是：{found}",
        )
    key = keys[0]
    return _parse_entry(str(key), document[key], _join(path, str(key)))


def _parse_entry(key: str, value: object, path: str) -> Node:
    if key in ("all", "any"):
        if not isinstance(value, list) or not value:
            raise FilterError(path, "expected a non-empty list of conditions", "应为非空的条件列表")
        parts = tuple(parse_filter(item, f"{path}[{i}]") for i, item in enumerate(value))
        return AllOf(parts) if key == "all" else AnyOf(parts)
    if key == "not":
        return Not(parse_filter(value, path))
    check = FIELDS.get(key)
    if check is None:
        known = ", ".join(sorted(FIELDS))
        raise FilterError(
            path,
            f"unknown field; expected all, any, not or one of: {known}",
            f"没有这个字段，可用：all、any、not、{known}",
        )
    return Condition(key, check(value, path))


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


# Field checkers: each returns the spec with validated, normalised values.


def _ops(value: object, path: str, allowed: Mapping[str, Callable[[object, str], Any]], *, one: bool) -> dict[str, Any]:
    if isinstance(value, bool) or not isinstance(value, Mapping) or not value:
        raise FilterError(
            path,
            f"expected a mapping with {'one' if one else 'any'} of: {', '.join(allowed)}",
            f"应为映射，{'写其中一个' if one else '可写'}：{'、'.join(allowed)}",
        )
    if one and len(value) != 1:
        raise FilterError(
            path, f"expected exactly one of: {', '.join(allowed)}", f"只能写其中一个：{'、'.join(allowed)}"
        )
    spec: dict[str, Any] = {}
    for op, arg in value.items():
        check = allowed.get(str(op))
        if check is None:
            raise FilterError(
                _join(path, str(op)),
                f"unknown operator; expected one of: {', '.join(allowed)}",
                f"没有这个运算符，可用：{'、'.join(allowed)}",
            )
        spec[str(op)] = check(arg, _join(path, str(op)))
    return spec


def _days(value: object, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_DAYS:
        raise FilterError(
            path, f"expected a whole number of days from 0 to {MAX_DAYS}", f"应为 0 到 {MAX_DAYS} 的整数天数"
        )
    return value


def _number(value: object, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise FilterError(path, "expected a number >= 0", "应为不小于 0 的数")
    return float(value)


def _count(value: object, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise FilterError(path, "expected a whole number >= 0", "应为不小于 0 的整数")
    return value


def _strings(value: object, path: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise FilterError(path, "expected a non-empty list of names", "应为非空的名称列表")
    for i, item in enumerate(value):
        if not isinstance(item, str | int) or isinstance(item, bool) or not str(item).strip():
            raise FilterError(f"{path}[{i}]", "expected a non-empty text", "不能为空")
    return tuple(str(item).strip() for item in value)


def _one_of(value: object, path: str) -> dict[str, Any]:
    """`{in: [...]}`, or `{any: [...]}` as tags write it: one of these reps or groups (names or ids)."""
    spec = _ops(value, path, {"in": _strings, "any": _strings}, one=True)
    return {"in": spec.get("in", spec.get("any"))}


def _choices(options: tuple[str, ...], normalise: Callable[[str], str] = str) -> Callable[[object, str], Any]:
    def check(value: object, path: str) -> tuple[str, ...]:
        # A single value reads as a list of one: {category: detractor} like {category: [detractor]}.
        names = tuple(normalise(name) for name in _strings([value] if isinstance(value, str) else value, path))
        for i, name in enumerate(names):
            if name not in options:
                raise FilterError(
                    f"{path}[{i}]",
                    f"unknown value {name!r}; expected one of: {', '.join(options)}",
                    f"没有「{name}」这个值，可用：{'、'.join(options)}",
                )
        return names

    return check


def _tier_name(name: str) -> str:
    # Managers write 重要价值 as often as 重要价值客户; both mean the same tier.
    return name if name.endswith("客户") else f"{name}客户"


def _date_text(value: object, path: str) -> str:
    text = value.isoformat() if hasattr(value, "isoformat") else value
    if not isinstance(text, str) or len(text) != 10 or text[4] != "-" or text[7] != "-":
        raise FilterError(path, "expected a date as YYYY-MM-DD", "应为日期，格式 YYYY-MM-DD")
    return text


def _text(value: object, path: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise FilterError(path, "expected a text or number", "应为文字或数字")
    return str(value)


def _score(low: int, high: int) -> Callable[[object, str], Any]:
    def check(value: object, path: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise FilterError(path, f"expected a whole number from {low} to {high}", f"应为 {low} 到 {high} 的整数")
        return value

    return check


def _risk(value: object, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise FilterError(path, "expected a risk from 0 to 1", "应为 0 到 1 之间的风险值")
    return float(value)


def _flag(value: object, path: str) -> dict[str, Any]:
    if not isinstance(value, bool):
        raise FilterError(path, "expected true or false", "应为 true 或 false")
    return {"is": value}


def _attribute(value: object, path: str) -> dict[str, Any]:
    if not isinstance(value, Mapping) or "name" not in value:
        raise FilterError(
            path, "expected {name: ..., eq|in|before|after: ...}", "应为 {name: ..., eq|in|before|after: ...}"
        )
    rest = {k: v for k, v in value.items() if k != "name"}
    spec = _ops(rest, path, {"eq": _text, "in": _strings, "before": _date_text, "after": _date_text}, one=True)
    spec["name"] = _text(value["name"], _join(path, "name"))
    return spec


_AGE = {"within_days": _days, "older_than_days": _days}

FIELDS: Final[dict[str, Callable[[object, str], dict[str, Any]]]] = {
    "tags": lambda v, p: _ops(v, p, {"any": _strings, "all": _strings, "none": _strings}, one=False),
    "rfm_tier": lambda v, p: _ops(v, p, {"in": _choices(RFM_TIERS, _tier_name)}, one=True),
    "last_message": lambda v, p: _ops(v, p, _AGE, one=False),
    "opted_out": _flag,
    "owner": _one_of,
    "group": _one_of,
    "channel": lambda v, p: _ops(v, p, {"in": _choices(CHANNELS)}, one=True),
    "became_contact": lambda v, p: _ops(v, p, _AGE, one=False),
    "purchases": lambda v, p: _ops(
        v,
        p,
        {
            "count_gte": _count,
            "amount_gte": _number,
            "last_within_days": _days,
            "last_older_than_days": _days,
        },
        one=False,
    ),
    "csat_last": lambda v, p: _ops(v, p, {"lte": _score(1, 5), "gte": _score(1, 5)}, one=False),
    "nps": lambda v, p: _ops(v, p, {"category": _choices(NPS_CATEGORIES)}, one=True),
    "churn_risk": lambda v, p: _ops(v, p, {"gte": _risk, "lte": _risk}, one=False),
    "birthday": lambda v, p: _ops(v, p, {"within_days": _score(0, 366)}, one=True),
    "attribute": _attribute,
    "status": lambda v, p: _ops(v, p, {"in": _choices(STATUSES)}, one=True),
}
