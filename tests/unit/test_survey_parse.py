"""CSAT (1-5) and NPS (0-10) answers read from real-style replies, and replies that must not count as answers."""

from __future__ import annotations

import pytest

from services.surveys.parse import Kind, menu_id, parse_answer, parse_menu_id

CASES: list[tuple[str, Kind, int | None]] = [
    # CSAT: numbers, stars and units
    ("5", "csat", 5),
    ("１", "csat", 1),
    ("５", "csat", 5),
    ("5分", "csat", 5),
    ("5 分", "csat", 5),
    ("4分吧", "csat", 4),
    ("给5分", "csat", 5),
    ("就给4分吧", "csat", 4),
    ("打个5分", "csat", 5),
    ("我给3分", "csat", 3),
    ("五星", "csat", 5),
    ("五颗星", "csat", 5),
    ("5颗星", "csat", 5),
    ("一星", "csat", 1),
    ("五分", "csat", 5),
    ("满分", "csat", 5),
    ("5/5", "csat", 5),
    ("⭐⭐⭐⭐⭐", "csat", 5),
    ("⭐⭐⭐", "csat", 3),
    ("★★★★☆", "csat", 4),
    ("5分！", "csat", 5),
    ("5分😊", "csat", 5),
    ("嗯嗯 5星", "csat", 5),
    ("好的，5分", "csat", 5),
    ("5分，非常满意", "csat", 5),
    ("5分，服务很好", "csat", 5),
    ("4分 谢谢", "csat", 4),
    # CSAT: words
    ("满意", "csat", 4),
    ("非常满意", "csat", 5),
    ("非常满意！！", "csat", 5),
    ("十分满意", "csat", 5),
    ("很满意，谢谢", "csat", 5),
    ("👍", "csat", 5),
    ("👍👍👍", "csat", 5),
    ("好评", "csat", 5),
    ("给五星好评", "csat", 5),
    ("挺好的", "csat", 4),
    ("不错不错", "csat", 4),
    ("服务态度非常好", "csat", 5),
    ("一般", "csat", 3),
    ("一般般吧", "csat", 3),
    ("还行", "csat", 3),
    ("还可以", "csat", 3),
    ("我觉得还行", "csat", 3),
    ("不太满意", "csat", 2),
    ("不满意", "csat", 2),
    ("差评", "csat", 1),
    ("太差了", "csat", 1),
    ("非常不满意", "csat", 1),
    ("很失望", "csat", 1),
    ("👎", "csat", 1),
    # CSAT: a score stated first, then why
    ("两星，太慢了", "csat", 2),
    ("2分，等了一个小时都没人理我", "csat", 2),
    ("两星 回复太慢了。", "csat", 2),
    ("⭐⭐，太慢", "csat", 2),
    ("不满意，物流太慢了", "csat", 2),
    ("一般吧，等了很久才有人回", "csat", 3),
    ("五星，小姐姐很耐心", "csat", 5),
    ("差评，我要投诉", "csat", 1),
    # CSAT: not answers
    ("2，我买了两件", "csat", None),  # a bare number does not say it is a score
    ("两星期没发货了", "csat", None),
    ("五分钟，等了好久", "csat", None),
    ("好的，我知道了", "csat", None),
    ("五星，有推荐的课程吗", "csat", None),  # a question after it: a message for the FAQ
    ("两星，" + "太慢了" * 30, "csat", None),  # past a sentence or two of why
    ("5点上课吗", "csat", None),
    ("我买了5件", "csat", None),
    ("不满意你们的退货政策怎么处理", "csat", None),  # a question about a policy, not a rating
    ("5分钟后到", "csat", None),
    ("10", "csat", None),  # outside 1-5
    ("0", "csat", None),
    ("十分", "csat", None),
    ("好", "csat", None),  # an acknowledgement, not a rating
    ("好的", "csat", None),
    ("可以", "csat", None),
    ("ok", "csat", None),
    ("谢谢", "csat", None),
    ("5？", "csat", None),
    ("打几分？", "csat", None),
    ("4分5分", "csat", None),  # two different numbers
    ("5分 太差了", "csat", None),  # the words contradict the number
    ("一般，差评", "csat", None),  # words that disagree
    ("4.5", "csat", None),
    ("三十", "csat", None),
    ("我要退货", "csat", None),
    ("在吗", "csat", None),
    ("⭐⭐⭐⭐⭐⭐", "csat", None),  # six stars is not a 5-point answer
    ("快递什么时候到", "csat", None),
    ("", "csat", None),
    # NPS
    ("10", "nps", 10),
    ("十分", "nps", 10),
    ("9分", "nps", 9),
    ("０", "nps", 0),
    ("0分", "nps", 0),
    ("零分", "nps", 0),
    ("7", "nps", 7),
    ("给8分吧", "nps", 8),
    ("满分", "nps", 10),
    ("10/10", "nps", 10),
    ("六分", "nps", 6),
    ("10号发货", "nps", None),
    ("11", "nps", None),
    ("五星", "nps", None),  # stars are a 5-point scale
    ("非常满意", "nps", None),  # satisfaction words do not answer "would you recommend"
    ("10/5", "nps", None),
    ("十分满意", "nps", None),
    ("我下单了3次", "nps", None),
    ("二十分", "nps", None),
    ("6分，客服回复太慢", "nps", 6),
    ("6，太慢", "nps", None),
]


@pytest.mark.parametrize(("text", "kind", "expected"), CASES, ids=[f"{k}:{t or 'empty'}" for t, k, _ in CASES])
def test_parse_answer(text: str, kind: Kind, expected: int | None) -> None:
    assert parse_answer(text, kind) == expected


def test_the_table_is_big_enough_and_has_refusals() -> None:
    assert len(CASES) >= 60
    assert sum(1 for _, _, expected in CASES if expected is None) >= 20


@pytest.mark.parametrize(
    ("menu", "kind", "expected"),
    [
        ("csat_1", "csat", 1),
        ("csat_5", "csat", 5),
        ("csat_6", "csat", None),
        ("nps_0", "nps", 0),
        ("nps_10", "nps", 10),
        ("csat_5", "nps", None),
        ("faq_12", "csat", None),
        ("csat_x", "csat", None),
    ],
)
def test_menu_ids(menu: str, kind: Kind, expected: int | None) -> None:
    assert parse_menu_id(menu, kind) == expected
    # A click is read from its id, whatever its text says.
    assert parse_answer("⭐ 非常不满意", kind, menu) == expected


def test_menu_id_round_trip() -> None:
    assert all(parse_menu_id(menu_id("csat", s), "csat") == s for s in range(1, 6))
