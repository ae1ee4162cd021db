"""The churn model: one customer's history against their own baseline, as a risk 0..1 with reasons in Chinese.

Pure functions, no I/O: services/churn/warning.py gathers every customer's history set-based and calls `assess`.
Each signal has a strength 0..1 and a weight (the risk that signal alone implies at full strength); the risk is
their noisy-OR, 1 - Π(1 - weight × strength), so signals add up without ever passing 1, and docs/CHURN.md can
explain any score by hand.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Final


@dataclass(frozen=True, slots=True)
class Weights:
    activity: float = 0.6
    purchase: float = 0.6
    score: float = 0.7
    tickets: float = 0.5
    negative: float = 0.4
    groups: float = 0.5


@dataclass(frozen=True, slots=True)
class ChurnPolicy:
    """The `churn:` section of config.yaml, as the service sees it (services never import the bot's config)."""

    threshold: float = 0.5
    rearm_margin: float = 0.1
    recent_days: int = 30
    baseline_days: int = 90
    history_days: int = 360
    activity_min_baseline: float = 3.0
    activity_min_drop: float = 0.5
    activity_quiet_share: float = 0.25
    purchase_min_count: int = 3
    purchase_cycle_factor: float = 1.5
    score_max_age_days: int = 180
    csat_low: int = 2
    nps_low: int = 6
    chunk_size: int = 2000
    max_reasons: int = 3
    weights: Weights = Weights()

    @classmethod
    def from_config(cls, values: Mapping[str, Any]) -> ChurnPolicy:
        known = {f.name for f in fields(cls)}
        kept = {k: v for k, v in values.items() if k in known and k != "weights"}
        return cls(**kept, weights=Weights(**dict(values.get("weights") or {})))

    @property
    def windows(self) -> int:
        """How many recent_days-long windows the history spans (window 0 is the recent one)."""
        return max(1 + self.baseline_windows, self.history_days // self.recent_days)

    @property
    def baseline_windows(self) -> int:
        return max(1, self.baseline_days // self.recent_days)


@dataclass(frozen=True, slots=True)
class History:
    """What one customer did, as gathered for scoring; every count is theirs alone."""

    age_days: float  # since first seen
    windows: tuple[int, ...]  # their messages per recent_days window, newest first
    purchase_ages: tuple[float, ...] = ()  # days since each purchase, oldest first
    csat: tuple[int, ...] = ()  # newest first, within score_max_age_days
    nps: tuple[int, ...] = ()
    open_tickets: int = 0
    reopened_tickets: int = 0
    negative_messages: int = 0
    negative_example: str = ""
    groups_left: int = 0


@dataclass(frozen=True, slots=True)
class Signal:
    name: str
    strength: float
    contribution: float
    reason: str


@dataclass(frozen=True, slots=True)
class Assessment:
    risk: float
    signals: tuple[Signal, ...]  # strongest first
    reasons: tuple[str, ...]
    action: str
    features: dict[str, Any]


ACTIONS: Final = {
    "score": "尽快私聊或电话回访，了解不满意的原因并给出补救",
    "tickets": "优先跟进未解决的工单，告诉客户处理进度和预计完成时间",
    "negative": "查看最近的对话，及时安抚情绪并解决客户提到的问题",
    "purchase": "回访上次购买的使用体验，可送上专属优惠邀请复购",
    "activity": "主动问候，了解近况，分享对客户有用的内容或活动",
    "groups": "私聊了解退群原因，必要时邀请加入更合适的群",
}
NO_ACTION: Final = "保持日常联系即可"


def assess(history: History, policy: ChurnPolicy) -> Assessment:
    w = policy.weights
    # Most customers have no signal at all: only a signal with a strength builds its Signal (the loop runs 100,000
    # times a day), in the same order as before, so the stable sort below ranks ties as it always did.
    signals = sorted(
        (
            s
            for s in (
                _signal("activity", w.activity, activity(history, policy)),
                _signal("purchase", w.purchase, purchase(history, policy)),
                _signal("score", w.score, scores(history, policy)),
                _signal("tickets", w.tickets, tickets(history)),
                _signal("negative", w.negative, negative(history, policy)),
                _signal("groups", w.groups, groups(history)),
            )
            if s is not None
        ),
        key=_by_contribution,
    )
    remaining = 1.0
    for s in signals:
        remaining *= 1 - s.contribution
    risk = round(1 - remaining, 4)
    action = ACTIONS[signals[0].name] if signals else NO_ACTION
    features: dict[str, Any] = {
        "age_days": round(history.age_days, 1),
        "windows": list(history.windows),
        "purchases": len(history.purchase_ages),
        "csat": list(history.csat),
        "nps": list(history.nps),
        "open_tickets": history.open_tickets,
        "reopened_tickets": history.reopened_tickets,
        "negative_messages": history.negative_messages,
        "groups_left": history.groups_left,
        "signals": {s.name: round(s.strength, 3) for s in signals},
        "action": action,
    }
    reasons = tuple(s.reason for s in signals[: policy.max_reasons])
    return Assessment(risk, tuple(signals), reasons, action, features)


NONE: Final = (0.0, "")


def _signal(name: str, weight: float, found: tuple[float, str]) -> Signal | None:
    """The signal, or None when it contributes nothing (no strength, or a zero weight)."""
    strength = found[0]
    if strength <= 0:
        return None
    contribution = round(weight * strength, 4)
    return Signal(name, strength, contribution, found[1]) if contribution > 0 else None


def _by_contribution(s: Signal) -> float:
    return -s.contribution


def activity(h: History, p: ChurnPolicy) -> tuple[float, str]:
    """Messages in the recent window against the average of the baseline windows they were around for."""
    windows, span, baseline_windows = h.windows, p.recent_days, p.baseline_windows
    # Window k counts once they were around for all of it (age >= (k + 1) windows): always a prefix 1..covered.
    covered = 0
    while covered + 1 < len(windows) and h.age_days >= (covered + 2) * span:
        covered += 1
    base = windows[1 : min(covered, baseline_windows) + 1]
    if not base:
        return NONE
    baseline = sum(base) / len(base)
    recent = windows[0]
    if baseline < p.activity_min_baseline or recent >= baseline:
        return NONE
    drop = 1 - recent / baseline
    if drop < p.activity_min_drop:
        return NONE
    # Seasonal customers: if months this quiet were common for them before, this one is their rhythm, not a drift.
    earlier = windows[baseline_windows + 1 : covered + 1]
    if earlier and sum(1 for n in earlier if n <= recent) / len(earlier) >= p.activity_quiet_share:
        return NONE
    usual = f"以往每{span}天约{baseline:.0f}条"
    if recent == 0:
        return drop, f"近{span}天没有发言（{usual}）"
    return drop, f"近{span}天发言比以往少了{round(drop * 100)}%（{usual}）"


def purchase(h: History, p: ChurnPolicy) -> tuple[float, str]:
    """Days since the last purchase against their own usual gap (the median), times a tolerance factor."""
    if len(h.purchase_ages) < p.purchase_min_count:
        return NONE
    ages = sorted(h.purchase_ages, reverse=True)  # oldest first
    cycle = max(1.0, statistics.median([a - b for a, b in itertools.pairwise(ages)]))
    since = ages[-1]
    due = cycle * p.purchase_cycle_factor
    if since <= due:
        return NONE
    strength = min(1.0, 0.5 + (since - due) / cycle)
    return strength, f"已超过平时购买周期（约{cycle:.0f}天），{since:.0f}天未购买"


def scores(h: History, p: ChurnPolicy) -> tuple[float, str]:
    """A low latest score is a full signal; a clear fall from the previous one is half of one."""
    found: list[tuple[float, str]] = []
    if h.csat and h.csat[0] <= p.csat_low:
        found.append((1.0, f"最近一次满意度评分为{h.csat[0]}分"))
    elif len(h.csat) > 1 and h.csat[0] <= h.csat[1] - 2:
        found.append((0.5, f"满意度评分从{h.csat[1]}分降到{h.csat[0]}分"))
    if h.nps and h.nps[0] <= p.nps_low:
        found.append((1.0, f"最近一次推荐意愿（NPS）评分为{h.nps[0]}分"))
    elif len(h.nps) > 1 and h.nps[0] <= h.nps[1] - 3:
        found.append((0.5, f"推荐意愿（NPS）评分从{h.nps[1]}分降到{h.nps[0]}分"))
    if not found:
        return NONE
    strength = max(s for s, _ in found)
    return strength, "，".join(reason for s, reason in found if s == strength)


def tickets(h: History) -> tuple[float, str]:
    if h.open_tickets <= 0:
        return NONE
    strength = min(1.0, 0.6 * h.open_tickets + 0.4 * h.reopened_tickets)
    reopened = f"，其中{h.reopened_tickets}个被重新打开过" if h.reopened_tickets else ""
    return strength, f"有{h.open_tickets}个未解决的工单{reopened}"


def negative(h: History, p: ChurnPolicy) -> tuple[float, str]:
    if h.negative_messages <= 0:
        return NONE
    example = f"（如“{h.negative_example}”）" if h.negative_example else ""
    return min(1.0, h.negative_messages / 2), f"近{p.recent_days}天有{h.negative_messages}条消息带负面情绪{example}"


def groups(h: History) -> tuple[float, str]:
    if h.groups_left <= 0:
        return NONE
    return min(1.0, h.groups_left / 2), f"最近退出了{h.groups_left}个客户群"
