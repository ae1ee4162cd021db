"""SLA policies and the service loop's rules: which deadline a customer gets, and who hears about it when."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from services.service.calendar import BusinessCalendar


@dataclass(frozen=True, slots=True)
class SlaPolicy:
    """Deadlines counted in business seconds. A customer matches when they carry the `tier` tag (tiers are tags for
    now) and, if `tags` is set, any one of `tags`; a policy with neither matches everyone."""

    name: str
    first_response_s: float
    resolution_s: float
    warn_before_s: float
    tier: str | None = None
    tags: frozenset[str] = frozenset()

    def matches(self, customer_tags: Collection[str]) -> bool:
        if self.tier is not None and self.tier not in customer_tags:
            return False
        return not self.tags or not self.tags.isdisjoint(customer_tags)

    @property
    def warn_after_s(self) -> float:
        """Business seconds after the question when the owner rep is warned."""
        return max(0.0, self.first_response_s - self.warn_before_s)


@dataclass(frozen=True, slots=True)
class ServiceRules:
    """Everything the waits and the SLA tick need, built once from config (bot/policies.py)."""

    calendar: BusinessCalendar
    policies: tuple[SlaPolicy, ...]
    managers: tuple[str, ...] = ()
    on_duty: tuple[str, ...] = ()
    # Escalation levels after the managers (who are level 1).
    escalation_levels: tuple[tuple[str, ...], ...] = ()
    escalate_every_s: float = 1800.0

    def policy_for(self, customer_tags: Collection[str]) -> SlaPolicy:
        """The first policy that matches; config validation guarantees the last one matches everyone."""
        for policy in self.policies:
            if policy.matches(customer_tags):
                return policy
        return self.policies[-1]

    def policy_named(self, name: str) -> SlaPolicy:
        """A wait keeps its policy's name; if config dropped that policy since, the catch-all applies."""
        return next((p for p in self.policies if p.name == name), self.policies[-1])

    def level(self, number: int) -> tuple[str, ...] | None:
        """Recipients of escalation level `number` (1 = managers); None past the last level."""
        if number == 1:
            return self.managers
        index = number - 2
        return self.escalation_levels[index] if 0 <= index < len(self.escalation_levels) else None
