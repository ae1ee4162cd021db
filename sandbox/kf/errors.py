"""kf errcodes (WECOM.md §2d, §3.7) with WeCom-style errmsg text."""

from __future__ import annotations

from typing import Final

from sandbox.qyapi.reply import QyapiError

KF_ERRMSG: Final = {
    40058: "invalid Request Parameter",
    40096: "invalid external userid",
    44004: "empty content",
    45002: "content size out of limit",
    45009: "api freq out of limit",
    95000: "invalid open_kfid",
    95001: "send msg count limit exceed",
    95002: "send msg time limit exceed",
    95004: "open_kfid missing",
    95007: "invalid msg token",
    95008: "msgmenu list count exceed",
    95014: "user is not servicer",
    95016: "invalid service state transition",
    95018: "session status invalid",
    # UNCONFIRMED code and text for a reused msgid (WECOM.md §2d).
    95020: "msgid duplicated",
}


def kf_error(code: int, detail: str = "") -> QyapiError:
    """An errcode answer; `detail` names the offending field, as WeCom's errmsg often does."""
    text = KF_ERRMSG.get(code, "error")
    return QyapiError(code, f"{text}: {detail}" if detail else text)
