"""Campaign messages as sandboxed Jinja2 templates with StrictUndefined, over one customer's own data."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Final

from jinja2 import StrictUndefined, Template, TemplateError, meta
from jinja2.sandbox import SandboxedEnvironment

# What a message may use; anything else is refused when the campaign is created, not at send time.
VARIABLES: Final = {
    "name": "客户昵称（没有时为“您”）",
    "owner_name": "负责人姓名",
    "tier": "RFM 分层，如 重要价值客户",
    "last_item": "最近一次购买的商品",
    "days_since_purchase": "距最近一次购买的天数",
    "attributes": "自定义属性，如 attributes.renewal_date",
}
_ENV: Final = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)


class TemplateProblem(ValueError):
    """A message template that cannot render; the text says which variable or syntax is wrong."""


@dataclass(frozen=True, slots=True)
class CustomerFacts:
    """One customer's data a message may mention."""

    customer_id: int
    name: str
    owner_name: str
    tier: str
    last_item: str
    days_since_purchase: int | None
    attributes: dict[str, str] = field(default_factory=dict)

    def context(self) -> dict[str, Any]:
        return {
            "name": self.name or "您",
            "owner_name": self.owner_name,
            "tier": self.tier,
            "last_item": self.last_item,
            "days_since_purchase": self.days_since_purchase if self.days_since_purchase is not None else "",
            "attributes": self.attributes,
        }


def check_template(source: str) -> None:
    """Refuse a template with a syntax error or a variable no customer has."""
    try:
        parsed = _ENV.parse(source)
    except TemplateError as exc:
        raise TemplateProblem(f"message: 模板语法错误 / template syntax error: {exc}") from None
    unknown = sorted(meta.find_undeclared_variables(parsed) - set(VARIABLES))
    if unknown:
        known = "、".join(VARIABLES)
        raise TemplateProblem(
            f"message: 未知变量 / unknown variable {', '.join(unknown)}; 可用 / expected one of: {known}"
        )


def render(source: str, facts: CustomerFacts) -> str:
    """The message for one customer; a missing attribute raises TemplateProblem (that customer is skipped)."""
    try:
        rendered: str = _compiled(source).render(facts.context())
        return rendered.strip()
    except TemplateError as exc:
        raise TemplateProblem(f"message: {exc}") from None


@functools.lru_cache(maxsize=64)
def _compiled(source: str) -> Template:
    # Compiling costs ~5 ms; a run renders the same campaign text for every customer.
    return _ENV.from_string(source)


def is_personal(source: str) -> bool:
    """Whether the text differs per customer (on a mass path each distinct text is its own task to confirm)."""
    used = meta.find_undeclared_variables(_ENV.parse(source))
    return bool(used - {"owner_name"})


def uses_variables(source: str) -> bool:
    """Whether the text uses any customer variable at all (a group message must be one text for every group)."""
    return bool(meta.find_undeclared_variables(_ENV.parse(source)))


def constant_text(message: str) -> str | None:
    """The rendered text when it is the same for every customer; None when it must be rendered per customer."""
    if uses_variables(message):
        return None
    try:
        return render(message, CustomerFacts(0, "", "", "", "", None))
    except TemplateProblem:
        return None  # rendered per customer, where the problem is recorded as each one's skip
