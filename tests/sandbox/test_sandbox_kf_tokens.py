"""kf callback tokens: expired ones are forgotten as new ones are issued, live ones keep working."""

from __future__ import annotations

import pytest

from sandbox.ids import IdFactory
from sandbox.kf.model import TOKEN_TTL_S, KfStore
from sandbox.kf.sync import _check_token, issue_token
from sandbox.qyapi.reply import QyapiError


def test_expired_tokens_are_forgotten_and_live_ones_kept_when_a_new_token_is_issued() -> None:
    store, ids = KfStore(), IdFactory(1)
    old = [issue_token(store, ids, "wkA", now) for now in range(100, 2100)]  # 2,000 tokens, one a second
    late = issue_token(store, ids, "wkA", 2100 + TOKEN_TTL_S - 300)
    # Issued at 2100+TTL-300: every token issued up to second 1800 has expired and is gone, the rest are kept.
    assert set(store.tokens) == {*old[1701:], late}
    _check_token(store, old[-1], "wkA", 2100 + TOKEN_TTL_S - 300)
    with pytest.raises(QyapiError):
        _check_token(store, old[0], "wkA", 2100 + TOKEN_TTL_S - 300)
