"""The churn model on hand-made histories: each signal against the customer's own baseline, and how they combine."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config.growth import ChurnSettings
from bot.config.settings import load_settings
from services.churn.model import ChurnPolicy, History, assess
from services.churn.words import candidate_terms, negative_terms
from tests.support.churn_histories import CHATTER

POLICY = ChurnPolicy()
STEADY = (10,) * 12
REPO_CONFIG = Path(__file__).resolve().parents[2] / "config.yaml"


def test_silence_after_a_steady_year_is_flagged_with_the_usual_rate_in_the_reason() -> None:
    result = assess(History(age_days=365, windows=(0, *STEADY[1:])), POLICY)
    assert result.risk == pytest.approx(0.6)
    assert result.reasons == ("近30天没有发言（以往每30天约10条）",)
    assert result.action.startswith("主动问候")


def test_a_partial_drop_names_the_percentage_and_stays_under_the_threshold_alone() -> None:
    result = assess(History(age_days=365, windows=(2, 10, 10, 10, *STEADY[4:])), POLICY)
    assert result.reasons == ("近30天发言比以往少了80%（以往每30天约10条）",)
    assert result.risk == pytest.approx(0.48)
    assert result.risk < POLICY.threshold


def test_a_quiet_month_is_not_a_drift_when_such_months_were_common_for_this_customer() -> None:
    seasonal = (0, 0, 10, 0, 0, 10, 0, 0, 10, 0, 0, 10)
    assert assess(History(age_days=365, windows=seasonal), POLICY).risk == 0


def test_new_customers_without_a_full_baseline_window_get_no_activity_signal() -> None:
    assert assess(History(age_days=29, windows=(0, 0, *(0,) * 10)), POLICY).risk == 0
    assert assess(History(age_days=45, windows=(0, 2, *(0,) * 10)), POLICY).risk == 0


def test_a_customer_who_rarely_writes_is_not_flagged_for_writing_nothing() -> None:
    assert assess(History(age_days=365, windows=(0, 2, 2, 1, *(2,) * 8)), POLICY).risk == 0


def test_purchase_overdue_against_the_median_gap_gives_the_cycle_and_the_days() -> None:
    result = assess(History(age_days=365, windows=STEADY, purchase_ages=(160, 130, 100, 70)), POLICY)
    assert result.reasons == ("已超过平时购买周期（约30天），70天未购买",)
    assert result.risk == pytest.approx(0.6)


def test_purchase_within_one_and_a_half_cycles_or_with_too_few_purchases_is_fine() -> None:
    assert assess(History(age_days=365, windows=STEADY, purchase_ages=(120, 90, 60, 40)), POLICY).risk == 0
    assert assess(History(age_days=365, windows=STEADY, purchase_ages=(300, 200)), POLICY).risk == 0


def test_low_latest_csat_or_nps_is_a_full_score_signal_and_a_fall_is_half() -> None:
    assert assess(History(365, STEADY, csat=(2, 5)), POLICY).reasons == ("最近一次满意度评分为2分",)
    assert assess(History(365, STEADY, nps=(6,)), POLICY).reasons == ("最近一次推荐意愿（NPS）评分为6分",)
    falling = assess(History(365, STEADY, csat=(3, 5)), POLICY)
    assert falling.reasons == ("满意度评分从5分降到3分",)
    assert falling.risk == pytest.approx(0.35)
    assert assess(History(365, STEADY, csat=(4, 5), nps=(9, 10)), POLICY).risk == 0


def test_signals_combine_as_a_noisy_or_and_reasons_come_strongest_first() -> None:
    history = History(365, STEADY, open_tickets=1, negative_messages=1, negative_example="太慢", groups_left=1)
    result = assess(history, POLICY)
    # 1 - (1 - 0.5*0.6)(1 - 0.4*0.5)(1 - 0.5*0.5)
    assert result.risk == pytest.approx(1 - 0.7 * 0.8 * 0.75)
    assert result.reasons == ("有1个未解决的工单", "最近退出了1个客户群", "近30天有1条消息带负面情绪（如“太慢”）")
    assert result.features["signals"] == {"tickets": 0.6, "groups": 0.5, "negative": 0.5}


def test_reasons_are_capped_at_max_reasons_and_risk_never_passes_one() -> None:
    everything = History(365, (0, *STEADY[1:]), (160, 130, 100, 70), (1,), (0,), 3, 2, 5, "投诉", 4)
    result = assess(everything, POLICY)
    assert len(result.reasons) == POLICY.max_reasons
    assert 0.99 < result.risk <= 1


def test_policy_reads_every_churn_key_of_config_yaml_except_the_schedule() -> None:
    settings = load_settings(REPO_CONFIG, {})
    policy = ChurnPolicy.from_config(settings.churn.model_dump())
    assert policy == ChurnPolicy()  # config.yaml documents the same defaults as the code
    scheduling = {"enabled", "run_at"}
    assert set(ChurnSettings.model_fields) - scheduling == set(ChurnPolicy.__dataclass_fields__)


def test_run_at_must_be_a_clock_time() -> None:
    with pytest.raises(ValueError, match="HH:MM"):
        ChurnSettings(run_at="3.30")
    assert ChurnSettings(run_at="23:05").run_time().minute == 5


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("太差了，我要投诉", ["太差", "投诉"]),
        ("都一个星期了还没处理，太慢了", ["太慢"]),
        ("再也不来了", ["再也不"]),
        ("一点也不失望", []),
        ("没有不满意", []),
        ("差不多就行", []),
        ("东西不错", []),
    ],
)
def test_negative_terms_find_complaints_but_not_negated_or_neutral_phrases(text: str, expected: list[str]) -> None:
    assert negative_terms(text) == expected


def test_generated_everyday_chatter_has_no_negative_words() -> None:
    assert [line for line in CHATTER if negative_terms(line)] == []


def test_every_negative_hit_is_a_candidate_term_when_the_database_prefilters_texts() -> None:
    # The churn job asks the database only for texts containing a candidate term: none may be missing.
    candidates = set(candidate_terms())
    texts = ["太差了，我要投诉", "再也不来了，太慢", "为什么还不给我退款？", "被骗了，举报12315", "态度太差，后悔买了"]
    found = {term for text in texts for term in negative_terms(text)}
    assert found and found <= candidates
    assert all(term in text for text in texts for term in negative_terms(text))
