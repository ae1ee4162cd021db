"""Asking in words to stop marketing ("以后别给我发广告了", "不要再推送了"): read as 退订, like the word itself.

A customer who writes that wants out; answering them with another campaign is how a complaint starts. Only a short
sentence that both refuses and names a sending of marketing counts: "别发了" (about what?), "不用活动价" (no sending)
and anything that asks a question ("能不能不发广告？") stay messages for a person.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

MAX_CHARS: Final = 24  # letters and digits: a sentence or two, not a message that mentions ads in passing

_REFUSE: Final = (
    r"(?:以后|今后|之后|请|麻烦|求求你们?|求你们?)?(?:别|不要|不用|不想|不需要|停止|请勿|勿|拒绝|禁止|取消|关闭)"
)
_AGAIN: Final = r"(?:再|总|老|一直|每天|天天|给我|跟我|向我|对我)*"
_SEND: Final = r"(?:发送|发|推送|推|收到|接收|收)"
_WHICH: Final = r"(?:任何|这些|这种|这类|这样的|那些|你们的?|什么)?"
_NOUN: Final = r"(?:广告|推送|推广|营销|促销|活动|群发|优惠|宣传)"
_KIND: Final = r"(?:消息|信息|内容|短信|通知)"
_MARKETING: Final = rf"{_NOUN}{_KIND}?"
# Not "优惠" or "活动" alone: "不要优惠券" and "不要活动了" refuse no sending.
_MESSAGES: Final = rf"(?:{_NOUN}{_KIND}|广告)"
_TAIL: Final = r"(?:了|啦|吧|哦|呀|啊|谢谢|好吗|好不好)*"
_SENTENCES: Final = (
    # "别给我发广告了", "不想收到任何营销信息", "请勿推送活动消息"
    re.compile(rf"^{_REFUSE}{_AGAIN}{_SEND}{_WHICH}{_MARKETING}{_TAIL}$"),
    # "不要再推送了", "取消推送", "关闭推送"
    re.compile(rf"^{_REFUSE}{_AGAIN}推送{_TAIL}$"),
    # "不需要这些推广信息", "拒绝营销短信", "不要广告": refusing the messages themselves
    re.compile(rf"^{_REFUSE}{_AGAIN}(?:要|看|接受)?{_WHICH}{_MESSAGES}{_TAIL}$"),
    # "广告别发了", "活动消息不要再推了", "你们的广告别再发给我了"
    re.compile(rf"^{_WHICH}{_MARKETING}(?:就|都|也)?{_REFUSE}{_AGAIN}{_SEND}(?:给我|我)?{_TAIL}$"),
)
_QUESTION: Final = re.compile(r"[?？吗么]|能不能|可不可以|怎么|如何")
_NOISE: Final = re.compile(r"[\s\W_]+")


def asks_to_stop_marketing(text: str) -> bool:
    """True for a short message that refuses marketing and nothing else; each sentence of it may say so."""
    flat = unicodedata.normalize("NFKC", text)
    if _QUESTION.search(flat):
        return False
    compact = _NOISE.sub("", flat)
    if not compact or len(compact) > MAX_CHARS:
        return False
    sentences = [_NOISE.sub("", part) for part in re.split(r"[，,。.!！;；\n]+", flat)]
    return any(s and any(p.match(s) for p in _SENTENCES) for s in sentences)
