"""What a customer message is: a question, a request, or chit-chat that needs no answer."""

from __future__ import annotations

import re
from typing import Final

from services.text.normalize import analyze

# Whole messages made only of these (in any order, repeated) are chit-chat: greetings, thanks, acknowledgements,
# laughter, praise and banter. Normalised forms (simplified, lower-case, no punctuation or emoji).
_CHITCHAT_PIECES: Final = tuple(
    " ".join(
        (
            "大家 大家好 你好 您好 早上好 上午好 中午好 下午好 晚上好 早安 午安 晚安 早 嗨 哈喽",
            "hello hi hey 在 在的 在呢 在吗 在不在 有人吗 有人在吗 谢谢 多谢 感谢 谢了",
            "谢啦 谢谢你 谢谢您 谢谢老师 谢谢亲 感谢老师 辛苦了 辛苦 辛苦啦 麻烦了 麻烦你了 thx",
            "thanks thank you 3q 好的 好滴 好嘞 好哒 好吧 好 行 行吧 可以 ok",
            "okay 嗯 嗯嗯 恩 恩恩 哦 噢 喔 哦哦 收到 收到了 了解 了解了 明白 明白了 知道了",
            "懂了 晓得了 没事 没事了 没关系 不客气 不用了 算了 那好 那行 老师 亲 小姐姐 哈 哈哈",
            "呵呵 嘿嘿 嘻嘻 hhh 哈哈哈哈 笑死 笑死我了 太好笑了 绝了 牛 牛啊 牛逼 666 厉害",
            "厉害了 真棒 太棒了 棒 赞 点赞 好评 不错 挺好 很好 真好 爱了 冲 冲鸭 加油 打卡 已打卡",
            "签到 拜拜 再见 回头见 下次见 周末愉快 新年快乐 节日快乐 生日快乐 恭喜 恭喜恭喜 同意 对",
            "对的 是的 没错 是啊 对啊 也是 确实 有道理 哈哈好的 好的谢谢 1 2 +1 顶 沙发 路过",
            "冒个泡 潜水 撒花 抱抱 么么哒 比心 好的呢 好的哈 我也是 同感 同上 一样",
        )
    ).split()
)
_PARTICLES: Final = "啊呀哦噢呢吧啦嘛哈哇嗷了的~"
_CHITCHAT_RE: Final = re.compile(
    "(?:"
    + "|".join(re.escape(p) for p in sorted(set(_CHITCHAT_PIECES), key=len, reverse=True))
    + f"|[{_PARTICLES}]| )+"
)
_LAUGHTER: Final = re.compile(r"(?:哈|呵|嘿|嘻|h|ha|lol|2333*|hh+)+")

_QUESTION_WORDS: Final = re.compile(
    r"(吗|么|嘛|什么|啥|怎么|怎样|怎么样|如何|为什么|为何|几[点号天个时月年次块岁周节分小门位人]|多少|多久|多长|多大|多远|"
    r"哪|是否|能否|可否|有无|谁|何时|咋|"
    r"([\u4e00-\u9fff])[不没]\2|可以不|行不|好不|对不|能不|要不|会不|"
    r"[了过][没吗]|没有$|没$|不$|呢$|是不是|对吧|吧$)"
)
# "I know how now" and friends: a question word inside a statement that closes the topic.
_CLOSING_STATEMENT: Final = re.compile(
    r"(知道|明白|懂|学会|搞定|找到|解决|弄好|弄懂|看到|收到|会).{0,12}了[啊呀哈的]*$"
)
# A reported problem wants help as much as a question does ("书被压坏了", "登不上去了", "课程播放不了").
_PROBLEM_WORDS: Final = re.compile(
    r"(不了|不上|不到|不能|不行|不动|不出|没收到|还没|没到|没反应|坏了|碎了|破了|错了|漏了|少了|丢了|失败|出错|报错|卡住|"
    r"很卡|一直卡|找不到|打不开|用不了|登不上|看不了|收不到|怎么办|咋办|咋整|怎么回事)"
)
_REQUEST_WORDS: Final = re.compile(
    r"(帮我|帮忙|麻烦|请你|请帮|我要|我想要|我想|想要|需要|给我|发我|发一下|求|申请|开个|开一|要开|怎么办|"
    r"退货|退款|换货|开票|发票|投诉|人工|转人工|客服|售后|催)"
)


def is_chitchat(text: str) -> bool:
    """Greetings, thanks, "收到", "好的", emoji or punctuation only, laughter, praise and banter."""
    normalized = analyze(text).text
    if not normalized:
        return True
    compact = normalized.replace(" ", "")
    return bool(_CHITCHAT_RE.fullmatch(normalized) or _LAUGHTER.fullmatch(compact))


def is_question(text: str) -> bool:
    """A question, with or without a question mark ("退货流程是啥", "几点上课")."""
    info = analyze(text)
    if is_chitchat(text):
        return False
    compact = info.text.replace(" ", "")
    if info.question_mark:
        return True
    if _CLOSING_STATEMENT.search(compact):
        return False
    return bool(_QUESTION_WORDS.search(compact))


def needs_answer(text: str) -> bool:
    """A question or a request ("帮我开个发票", "我要退款"): something a person (or the bot) should answer."""
    if is_chitchat(text):
        return False
    compact = analyze(text).text.replace(" ", "")
    if is_question(text):
        return True
    if _CLOSING_STATEMENT.search(compact):
        return False
    return bool(_REQUEST_WORDS.search(compact) or _PROBLEM_WORDS.search(compact))
