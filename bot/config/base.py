"""The shared pieces of every settings section: the frozen base model, the error type and field checks."""

from __future__ import annotations

import re
from datetime import time
from typing import Final

from pydantic import BaseModel, ConfigDict

_AES_KEY_RE: Final = re.compile(r"^[A-Za-z0-9]{43}$")


def check_aes_key(value: str | None) -> str | None:
    """An EncodingAESKey (WeCom app or Official Account) is 43 characters from [A-Za-z0-9]."""
    if value is not None and not _AES_KEY_RE.match(value):
        raise ValueError(f"expected 43 characters from [A-Za-z0-9], got {len(value)} characters")
    return value


class ConfigError(Exception):
    """A configuration problem, phrased for the operator: which key, what was expected."""


class Section(BaseModel):
    # No inf/nan: `tick_s: .inf` passed `ge=1` and then broke the scheduler's trigger at start.
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


_HHMM_RE: Final = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def clock_time(value: object) -> object:
    """ "HH:MM" only: YAML 1.1 reads an unquoted 18:00 as the number 1080, which must not become 00:18."""
    if isinstance(value, time):
        return value
    if isinstance(value, str) and (match := _HHMM_RE.match(value.strip())):
        return time(int(match.group(1)), int(match.group(2)))
    raise ValueError('expected a time of day as a quoted "HH:MM" string, e.g. "09:00"')
