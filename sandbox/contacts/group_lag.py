"""groupchat/get lags behind membership changes, as WeCom's may ("可能需要等一段时间(例如2秒)", WECOM.md §2b)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager

from sandbox.clock import Clock
from sandbox.model import Corp, Group


class GroupLag:
    """For `lag_s` seconds after a membership change, groupchat/get answers the group as it was before it.

    With several changes inside the window, the answer is the group as of `lag_s` ago: the snapshot from before
    the oldest change still inside the window. So a bot that trusts a read made right after an event, instead of
    comparing member_version with the event's CurMemVer and reading again, sees the old member list.
    """

    def __init__(self, clock: Clock, lag_s: float) -> None:
        self._clock = clock
        self.lag_s = lag_s
        self._before: dict[str, list[tuple[float, Group]]] = {}

    @contextmanager
    def change(self, corp: Corp, chat_id: str) -> Iterator[None]:
        """Remember the group as it was if the change inside the block succeeds; a refused action leaves no trace."""
        group = corp.groups.get(chat_id)
        before = copy.deepcopy(group) if group is not None and self.lag_s > 0 else None
        yield
        if before is not None:
            now = self._clock.now().timestamp()
            self._prune(chat_id, now)
            self._before.setdefault(chat_id, []).append((now, before))

    def view(self, group: Group) -> Group:
        now = self._clock.now().timestamp()
        self._prune(group.chat_id, now)
        pending = self._before.get(group.chat_id)
        return pending[0][1] if pending else group

    def _prune(self, chat_id: str, now: float) -> None:
        pending = self._before.get(chat_id)
        if pending is None:
            return
        kept = [(at, snapshot) for at, snapshot in pending if at > now - self.lag_s]
        if kept:
            self._before[chat_id] = kept
        else:
            del self._before[chat_id]
