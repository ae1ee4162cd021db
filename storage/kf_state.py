"""The kf session states WeCom reports as `service_state` (WECOM.md §2d), as stored in `kf_sessions.state`."""

from __future__ import annotations

from enum import IntEnum


class KfState(IntEnum):
    UNTREATED = 0  # 未处理: a new session nobody has taken yet
    BOT = 1  # 由智能助手接待: the API (the bot) holds it
    POOL = 2  # 待接入池排队中: waiting in the pool, WeCom assigns a receiving servicer
    HUMAN = 3  # 由人工接待: a servicer holds it
    ENDED = 4  # 已结束/未开始


# kf/send_msg is allowed only while nobody but the bot is on the session (WECOM.md §2d).
BOT_MAY_SEND: tuple[KfState, ...] = (KfState.UNTREATED, KfState.BOT)
# In the pool or with a servicer: people are on it, the bot keeps out.
WITH_PERSON: frozenset[KfState] = frozenset({KfState.POOL, KfState.HUMAN})
