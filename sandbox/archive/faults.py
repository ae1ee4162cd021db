"""The SDK's return codes and the fault injection for GetChatData (WECOM.md §2c)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from sandbox.wire import Json

# The SDK's return codes (silenceper/wechat work/msgaudit/error.go, WECOM.md §2c).
SDK_ERRMSG: Final = {
    10000: "参数错误，请求参数错误",
    10001: "网络错误，网络请求错误",
    10002: "数据解析失败",
    10003: "系统失败",
    10004: "密钥错误导致加密失败",
}
RETRYABLE: Final = (10001, 10002, 10003)


@dataclass(slots=True)
class SdkFaults:
    """The next `remaining` pulls fail with `errcode` (a retryable SDK error), then pulls work again."""

    errcode: int = 10001
    remaining: int = 0

    def take(self) -> int | None:
        if self.remaining <= 0:
            return None
        self.remaining -= 1
        return self.errcode

    def to_json(self) -> Json:
        return {"errcode": self.errcode, "remaining": self.remaining}
