"""Every quota the sender checks before a call, loaded once per claim and reserved as rows are claimed.

Windows slide and are strict: a member's message is stamped with the latest moment it could reach WeCom (the end
of its lease) until an answer proves an earlier one, so "30 in any minute" holds on WeCom's side whatever the
latency. Every window is widened by `window_margin_s` for WeCom's clock and its whole-second stamps.
"""

from __future__ import annotations

import bisect
import calendar
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config.sender import SenderSettings
from storage.kf_state import BOT_MAY_SEND
from storage.models.masstasks import MassTargetStatus
from storage.models.outbox import KfWindow, OaWindow, Outbox, OutboxKind, Priority
from storage.repos import masstasks, quotas, windows
from storage.repos.windows import OA_MESSAGE, KfPair, split_kf_recipient

APP_DAY: Final = "d:app"  # message/send person-times per natural day
POLLS: Final = "g:poll"  # mass-task polls and result pages, in the global rate's tenths (pruned with "g")
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)


def kf_pair(row: Outbox) -> KfPair:
    """The kf customer a kf row goes to: its recipient, or for an event-code message the pair in its payload."""
    if row.kind == OutboxKind.KF_EVENT_MESSAGE:
        return str(row.payload.get("open_kfid", "")), str(row.payload.get("external_userid", ""))
    return split_kf_recipient(row.recipient)


def period_key(moment: datetime, zone: ZoneInfo, period: str) -> str:
    """The cap period `moment` falls in, in the business zone: 2026-11, 2026-W47 or 2026-11-23."""
    local = moment.astimezone(zone)
    if period == "day":
        return local.strftime("%Y-%m-%d")
    if period == "week":
        year, week, _ = local.isocalendar()
        return f"{year}-W{week:02d}"
    return local.strftime("%Y-%m")


def next_period_start(moment: datetime, zone: ZoneInfo, period: str) -> datetime:
    local = moment.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "day":
        start = local + timedelta(days=1)
    elif period == "week":
        start = local + timedelta(days=7 - local.weekday())
    else:
        start = (local.replace(day=1) + timedelta(days=32)).replace(day=1)
    return start


def period_cap(moment: datetime, zone: ZoneInfo, settings: SenderSettings) -> int:
    if settings.mass_cap is not None:
        return settings.mass_cap
    if settings.mass_cap_period == "day":
        return 1
    if settings.mass_cap_period == "week":
        return 7
    local = moment.astimezone(zone)
    return calendar.monthrange(local.year, local.month)[1]


@dataclass(frozen=True, slots=True)
class Verdict:
    """A quota's answer for one row: go, wait until `until`, or never (`until` None)."""

    ok: bool
    reason: str = ""
    until: datetime | None = None

    @staticmethod
    def go() -> Verdict:
        return Verdict(True)


class QuotaBook:
    def __init__(self, now: datetime, settings: SenderSettings, zone: ZoneInfo) -> None:
        self.now, self.settings, self.zone = now, settings, zone
        margin = timedelta(seconds=settings.window_margin_s)
        self.minute, self.hour = MINUTE + margin, HOUR + margin
        self._second = int(now.timestamp())
        self._tenth = int(now.timestamp() * 10)  # the global rate slides over tenths of a second
        self._minute_bucket = int(now.timestamp() // 60)
        self._day = now.astimezone(zone).date().toordinal()  # WeCom's natural day, in the business zone
        self._app_today = 0
        self._api_minute: Counter[str] = Counter()
        self._api_hour: Counter[str] = Counter()
        self._global = 0
        self._polls = 0
        self._new_calls: Counter[tuple[str, int]] = Counter()
        self._stamps: dict[str, list[datetime]] = {}
        self._new_stamps: list[tuple[str, datetime, int]] = []
        self.kf: dict[KfPair, KfWindow] = {}
        self.oa: dict[str, OaWindow] = {}
        self.period = period_key(now, zone, settings.mass_cap_period)
        self.cap = period_cap(now, zone, settings)
        self._mass_usage: Counter[str] = Counter()
        self.mass_pending: dict[int, list[str]] = {}  # outbox id -> targets not yet counted
        self.mass_unsent: dict[int, list[str]] = {}  # outbox id -> targets counted by an earlier attempt
        self.mass_task_ids: dict[int, int] = {}  # outbox id -> task id
        self._mass_changes: list[tuple[int, list[str], str]] = []

    @classmethod
    async def load(
        cls, session: AsyncSession, now: datetime, rows: Sequence[Outbox], settings: SenderSettings, zone: ZoneInfo
    ) -> QuotaBook:
        book = cls(now, settings, zone)
        apis = {r.api for r in rows}
        margin = settings.window_margin_s
        since = {f"m:{a}": int(now.timestamp() - 60 - margin) for a in apis}
        since |= {f"h:{a}": int((now.timestamp() - 3600 - margin) // 60) for a in apis}
        since["g"] = int((now.timestamp() - 1) * 10)  # every tenth touching the last second: a strict window
        since[POLLS] = since["g"]
        since[APP_DAY] = book._day
        sums = await quotas.counter_sums(session, since)
        book._app_today = sums.get(APP_DAY, 0)
        for api in apis:
            book._api_minute[api] = sums.get(f"m:{api}", 0)
            book._api_hour[api] = sums.get(f"h:{api}", 0)
        book._global = sums.get("g", 0)
        book._polls = sums.get(POLLS, 0)
        members = {m for r in rows if r.kind == OutboxKind.APP_MESSAGE for m in r.recipient.split("|")}
        book._stamps = dict(await quotas.member_stamps(session, members, now - book.hour))
        pairs = {kf_pair(r) for r in rows if r.kind in (OutboxKind.KF_MESSAGE, OutboxKind.KF_EVENT_MESSAGE)}
        book.kf = await windows.kf_windows(session, pairs)
        book.oa = await windows.oa_windows(session, {r.recipient for r in rows if r.kind == OutboxKind.OA_MESSAGE})
        await book._load_mass(session, [r.id for r in rows if r.kind == OutboxKind.MASS_TASK])
        return book

    async def _load_mass(self, session: AsyncSession, outbox_ids: list[int]) -> None:
        tasks = await masstasks.tasks_by_outbox(session, outbox_ids)
        everyone: set[str] = set()
        wanted = [MassTargetStatus.PENDING, MassTargetStatus.UNSENT]
        by_task = await masstasks.targets_of_tasks(session, [t.id for t in tasks.values()], wanted)
        for outbox_id, task in tasks.items():
            self.mass_task_ids[outbox_id] = task.id
            targets = by_task[task.id]
            pending = [t.target_id for t in targets if t.status == MassTargetStatus.PENDING]
            self.mass_pending[outbox_id] = pending
            self.mass_unsent[outbox_id] = [t.target_id for t in targets if t.status == MassTargetStatus.UNSENT]
            everyone.update(pending)
        self._mass_usage.update(await masstasks.cap_usage(session, everyone, self.period))

    # ---- calls: per API per minute and hour, and Qunke's global rate -------------------------------------------

    def call_room(self, api: str, priority: int) -> Verdict:
        s = self.settings
        ceiling = s.global_per_second
        if priority >= Priority.LOW:
            ceiling = max(1, int(ceiling * (1 - s.high_priority_reserve)))
        if self._global >= ceiling:
            return Verdict(False, "global_rate", self.now + timedelta(seconds=0.1))
        if self._api_minute[api] >= s.api_per_minute:
            return Verdict(False, "api_minute_rate", self.now + timedelta(seconds=1))
        if self._api_hour[api] >= s.api_per_hour:
            return Verdict(False, "api_hour_rate", self.now + MINUTE)
        return Verdict.go()

    def poll_room(self) -> Verdict:
        """Polls of created tasks take at most their share of the global rate, the rest stays for new tasks."""
        ceiling = max(1, int(self.settings.global_per_second * self.settings.mass_poll_share))
        if self._polls >= ceiling:
            return Verdict(False, "poll_rate", self.now + timedelta(seconds=0.1))
        return Verdict.go()

    def take_poll(self) -> None:
        self._polls += 1
        self._new_calls[(POLLS, self._tenth)] += 1

    def take_call(self, api: str) -> None:
        self._global += 1
        self._api_minute[api] += 1
        self._api_hour[api] += 1
        self._new_calls[("g", self._tenth)] += 1
        self._new_calls[(f"m:{api}", self._second)] += 1
        self._new_calls[(f"h:{api}", self._minute_bucket)] += 1

    # ---- message/send: 30 a minute and 1,000 an hour per member ------------------------------------------------

    def members_room(self, members: Sequence[str]) -> Verdict:
        s = self.settings
        free_at = self.now
        for member in members:
            stamps = self._stamps.get(member, [])
            for window, limit in ((self.minute, s.member_per_minute), (self.hour, s.member_per_hour)):
                inside = stamps[bisect.bisect_right(stamps, self.now - window) :]
                if len(inside) >= limit:
                    free_at = max(free_at, inside[len(inside) - limit] + window)
        if free_at > self.now:
            return Verdict(False, "member_rate", free_at)
        cap = s.app_daily_person_times
        if cap is not None and self._app_today + len(members) > cap:
            tomorrow = next_period_start(self.now, self.zone, "day")
            return Verdict(False, f"app_daily_cap: {cap} person-times a day", tomorrow)
        return Verdict.go()

    def reserve_members(self, members: Sequence[str], stamp: datetime, outbox_id: int) -> None:
        for member in members:
            bisect.insort(self._stamps.setdefault(member, []), stamp)
            self._new_stamps.append((member, stamp, outbox_id))
        self._app_today += len(members)
        self._new_calls[(APP_DAY, self._day)] += len(members)

    # ---- kf: 5 sends within 48 h of the customer's last message, in session state 0 or 1 ------------------------

    def kf_room(self, pair: KfPair, *, counted_already: bool) -> Verdict:
        window = self.kf.get(pair)
        if window is None or window.last_customer_message_at is None:
            return Verdict(False, "kf_window_closed: the customer has not written within 48 h")
        closes = window.last_customer_message_at + timedelta(hours=self.settings.kf_window_h)
        if self.now + timedelta(seconds=self.settings.window_margin_s) >= closes:
            return Verdict(False, "kf_window_closed: 48 h have passed since the customer's last message")
        if window.session_state is not None and window.session_state not in BOT_MAY_SEND:
            return Verdict(False, f"kf_session_state: state {window.session_state} does not allow sending")
        if not counted_already and window.sends_since >= self.settings.kf_quota:
            return Verdict(False, f"kf_quota: {self.settings.kf_quota} sends used since the customer's last message")
        return Verdict.go()

    def kf_event_room(self, pair: KfPair, *, counted_already: bool) -> Verdict:
        """A message on an event code needs no window, but spends the allowance when one is open.

        Whether send_msg_on_event counts toward the 5 is UNCONFIRMED; the sandbox counts it, the stricter reading.
        """
        window = self.kf.get(pair)
        if counted_already or window is None or window.last_customer_message_at is None:
            return Verdict.go()
        if window.sends_since >= self.settings.kf_quota:
            return Verdict(False, f"kf_quota: {self.settings.kf_quota} sends used since the customer's last message")
        return Verdict.go()

    def reserve_kf(self, pair: KfPair) -> datetime | None:
        """Count a send in the customer's current allowance; returns which window it was counted in."""
        window = self.kf.get(pair)
        if window is None or window.last_customer_message_at is None:
            return None
        window.sends_since += 1
        return window.last_customer_message_at

    # ---- OA customer-service messages: the window the follower's latest interaction opened ---------------------

    def oa_room(self, openid: str, *, counted_already: bool) -> Verdict:
        window, s = self.oa.get(openid), self.settings
        if window is None:
            return Verdict(False, "oa_window_closed: the follower has not interacted")
        if window.window_kind == OA_MESSAGE:
            length, quota = timedelta(hours=s.oa_message_window_h), s.oa_message_quota
        else:
            length, quota = timedelta(seconds=s.oa_action_window_s), s.oa_action_quota
        if self.now + timedelta(seconds=s.window_margin_s) >= window.opened_at + length:
            return Verdict(False, "oa_window_closed: the follower's window has passed")
        if not counted_already and window.sends >= quota:
            return Verdict(False, f"oa_quota: {quota} sends used in the follower's window")
        return Verdict.go()

    def reserve_oa(self, openid: str) -> None:
        self.oa[openid].sends += 1

    # ---- add_msg_template: at most `cap` mass messages per customer or group per period -------------------------

    def mass_split(self, outbox_id: int) -> tuple[list[str], list[str]]:
        """The task's uncounted targets split into (within the cap, over it)."""
        within, over = [], []
        usage = Counter(self._mass_usage)
        for target in self.mass_pending.get(outbox_id, []):
            if usage[target] < self.cap:
                within.append(target)
                usage[target] += 1
            else:
                over.append(target)
        return within, over

    def reserve_mass(self, outbox_id: int, within: list[str], over: list[str]) -> None:
        task_id = self.mass_task_ids[outbox_id]
        for target in within:
            self._mass_usage[target] += 1
        self._mass_changes.append((task_id, within, MassTargetStatus.UNSENT))
        self._mass_changes.append((task_id, over, MassTargetStatus.OVER_LIMIT))

    def next_period(self) -> datetime:
        return next_period_start(self.now, self.zone, self.settings.mass_cap_period)

    async def flush(self, session: AsyncSession) -> None:
        """Write the reservations made during this claim (window rows changed in place flush on commit)."""
        await quotas.add_member_stamps(session, self._new_stamps)
        await quotas.bump_counters(session, self._new_calls)
        for task_id, targets, status in self._mass_changes:
            await masstasks.set_targets(session, task_id, targets, status, self.period)
