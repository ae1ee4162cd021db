"""Quota windows on a manual clock: members, API and global rates, kf and OA windows, the mass-send cap."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.config.sender import SenderSettings
from bot.delivery.quotas import QuotaBook, next_period_start, period_cap, period_key
from services.clock import ManualClock
from storage.models.outbox import KfWindow, OaWindow, Priority

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
API = "/cgi-bin/message/send"


def book(clock: ManualClock, **settings: object) -> QuotaBook:
    return QuotaBook(clock.now(), SenderSettings(**settings), SHANGHAI)  # type: ignore[arg-type]


def test_member_minute_frees_a_margin_after_the_oldest_of_thirty_when_thirty_went_out() -> None:
    clock = ManualClock(T0)
    first = book(clock)
    for n in range(30):
        first.reserve_members(["zhangsan"], T0 + timedelta(seconds=n), n)
    verdict = first.members_room(["zhangsan"])
    assert not verdict.ok and verdict.reason == "member_rate"
    assert verdict.until == T0 + timedelta(seconds=62)  # the oldest stamp + 60 s + the 2 s margin
    assert first.members_room(["lisi"]).ok


def test_member_minute_counts_every_recipient_when_a_message_goes_to_several() -> None:
    clock = ManualClock(T0)
    quota = book(clock, member_per_minute=2)
    quota.reserve_members(["zhangsan", "lisi"], T0, 1)
    quota.reserve_members(["lisi"], T0, 2)
    assert quota.members_room(["zhangsan"]).ok
    assert not quota.members_room(["zhangsan", "lisi"]).ok


def test_member_hour_defers_the_thousand_and_first_when_the_minutes_are_fine() -> None:
    start = T0 - timedelta(minutes=59)
    clock = ManualClock(start + timedelta(seconds=3500 + 60))  # past every minute window, inside the hour
    quota = book(clock)
    for n in range(1000):
        quota.reserve_members(["wangwu"], start + timedelta(seconds=3.5 * n), n)
    verdict = quota.members_room(["wangwu"])
    assert not verdict.ok and verdict.until == start + timedelta(hours=1, seconds=2)


def test_app_daily_cap_counts_person_times_and_waits_for_the_next_day_in_the_business_zone() -> None:
    quota = book(ManualClock(T0), app_daily_person_times=5)
    quota.reserve_members(["zhangsan", "lisi", "wangwu"], T0, 1)
    assert quota.members_room(["zhaoliu", "zhangsan"]).ok
    verdict = quota.members_room(["zhaoliu", "zhangsan", "lisi"])
    assert not verdict.ok and verdict.reason.startswith("app_daily_cap")
    assert verdict.until == datetime(2026, 11, 24, tzinfo=SHANGHAI)


def test_global_rate_keeps_a_share_for_replies_when_campaigns_fill_the_second() -> None:
    quota = book(ManualClock(T0), global_per_second=10, high_priority_reserve=0.2)
    for _ in range(8):
        assert quota.call_room(API, Priority.LOW).ok
        quota.take_call(API)
    low = quota.call_room(API, Priority.LOW)
    assert not low.ok and low.reason == "global_rate" and low.until == T0 + timedelta(seconds=0.1)
    for _ in range(2):
        assert quota.call_room(API, Priority.HIGH).ok
        quota.take_call(API)
    assert not quota.call_room(API, Priority.HIGH).ok


def test_api_minute_limit_stops_calls_when_it_is_reached() -> None:
    quota = book(ManualClock(T0), api_per_minute=3, global_per_second=100)
    for _ in range(3):
        quota.take_call(API)
    verdict = quota.call_room(API, Priority.HIGH)
    assert not verdict.ok and verdict.reason == "api_minute_rate"
    assert quota.call_room("/cgi-bin/kf/send_msg", Priority.HIGH).ok


def _kf(last: datetime | None, sends: int = 0, state: int | None = None) -> KfWindow:
    return KfWindow(
        open_kfid="wk1", external_userid="wm1", last_customer_message_at=last, sends_since=sends, session_state=state
    )


def test_kf_window_allows_five_sends_within_48_hours_of_the_customers_message() -> None:
    clock = ManualClock(T0)
    quota = book(clock)
    quota.kf[("wk1", "wm1")] = _kf(T0 - timedelta(hours=47))
    for _ in range(5):
        assert quota.kf_room(("wk1", "wm1"), counted_already=False).ok
        quota.reserve_kf(("wk1", "wm1"))
    sixth = quota.kf_room(("wk1", "wm1"), counted_already=False)
    assert not sixth.ok and sixth.reason.startswith("kf_quota") and sixth.until is None
    assert quota.kf_room(("wk1", "wm1"), counted_already=True).ok  # a resend of a counted send needs no place


def test_kf_window_is_closed_when_48_hours_passed_or_the_state_forbids_or_nobody_wrote() -> None:
    clock = ManualClock(T0)
    quota = book(clock)
    quota.kf[("wk1", "late")] = _kf(T0 - timedelta(hours=48) + timedelta(seconds=1))  # inside the 2 s margin
    quota.kf[("wk1", "human")] = _kf(T0, state=3)
    assert quota.kf_room(("wk1", "late"), counted_already=False).reason.startswith("kf_window_closed")
    assert quota.kf_room(("wk1", "human"), counted_already=False).reason.startswith("kf_session_state")
    assert quota.kf_room(("wk1", "nobody"), counted_already=False).reason.startswith("kf_window_closed")


def test_oa_window_follows_the_latest_interaction_when_a_click_follows_a_message() -> None:
    clock = ManualClock(T0)
    quota = book(clock)
    quota.oa["o1"] = OaWindow(openid="o1", window_kind="action", opened_at=T0 - timedelta(seconds=30), sends=2)
    assert quota.oa_room("o1", counted_already=False).ok
    quota.reserve_oa("o1")
    assert quota.oa_room("o1", counted_already=False).reason.startswith("oa_quota")
    quota.oa["o2"] = OaWindow(openid="o2", window_kind="action", opened_at=T0 - timedelta(seconds=59), sends=0)
    assert quota.oa_room("o2", counted_already=False).reason.startswith("oa_window_closed")
    quota.oa["o3"] = OaWindow(openid="o3", window_kind="message", opened_at=T0 - timedelta(hours=47), sends=4)
    assert quota.oa_room("o3", counted_already=False).ok


def test_mass_cap_splits_targets_at_the_days_in_the_month_when_some_are_full() -> None:
    quota = book(ManualClock(T0))
    assert quota.cap == 30 and quota.period == "2026-11"
    quota.mass_pending[7] = ["full", "fresh", "full"]
    quota.mass_task_ids[7] = 70
    quota._mass_usage["full"] = 30
    assert quota.mass_split(7) == (["fresh"], ["full", "full"])


def test_cap_periods_follow_the_business_zone_when_utc_is_still_in_the_old_month() -> None:
    evening = datetime(2026, 11, 30, 16, 30, tzinfo=UTC)  # 00:30 on 1 December in Shanghai
    assert period_key(evening, SHANGHAI, "month") == "2026-12"
    assert period_key(evening, SHANGHAI, "day") == "2026-12-01"
    assert period_key(evening, SHANGHAI, "week") == "2026-W49"
    assert next_period_start(T0, SHANGHAI, "month") == datetime(2026, 12, 1, tzinfo=SHANGHAI)
    assert next_period_start(T0, SHANGHAI, "week") == datetime(2026, 11, 30, tzinfo=SHANGHAI)
    february = datetime(2027, 2, 10, tzinfo=UTC)
    assert period_cap(february, SHANGHAI, SenderSettings()) == 28
    assert period_cap(february, SHANGHAI, SenderSettings(mass_cap_period="week")) == 7
    assert period_cap(february, SHANGHAI, SenderSettings(mass_cap=4)) == 4
