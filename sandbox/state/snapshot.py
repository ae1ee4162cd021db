"""The whole corp as one JSON document: what the state file holds, and putting it back into a freshly built app."""

from __future__ import annotations

from dataclasses import fields
from typing import Final, TypeVar

from aiohttp import web

from sandbox import appkeys
from sandbox.clock import OffsetClock
from sandbox.kf.model import KfStore
from sandbox.model import Corp
from sandbox.qyapi import keys as send_keys
from sandbox.state.codec import StateDecodeError, from_plain, to_plain
from sandbox.wire import Json

FORMAT: Final = "qunke-sandbox-state"
VERSION: Final = 1

T = TypeVar("T")


def snapshot(app: web.Application) -> Json:
    """Everything a real corp would remember; rate windows, faults and chaos settings are the test rig's, not kept."""
    clock = app[appkeys.CLOCK]
    return {
        "format": FORMAT,
        "version": VERSION,
        "corp_id": app[appkeys.CONFIG].corp_id,
        "saved_at": clock.epoch(),
        "clock_offset": clock.offset if isinstance(clock, OffsetClock) else 0.0,
        "ids": app[appkeys.IDS].snapshot(),
        "corp": to_plain(app[appkeys.CORP]),
        "kf": to_plain(app[appkeys.KF]),
        "tokens": app[appkeys.TOKENS].snapshot(),
        "log": app[appkeys.LOG].snapshot(),
        "callbacks_issued": app[appkeys.SENDER].issued,
        "oa_callbacks_issued": app[appkeys.OA_SENDER].issued,
        "archive": app[appkeys.ARCHIVE].snapshot(),
        "archive_msgids": sorted(app[appkeys.MSGIDS].issued),
        "oa": app[appkeys.OA].snapshot(),
        "oa_tokens": app[appkeys.OA_TOKENS].snapshot(),
        "mass": app[send_keys.MASS].snapshot(),
    }


def restore(app: web.Application, data: Json) -> None:
    """Overwrite the seeded state in place (other parts hold references to the corp and kf store).

    Raises StateDecodeError naming the first part that is out of shape; nothing is half-applied before the
    format checks pass, and a failure aborts the start-up anyway.
    """
    if data.get("format") != FORMAT or data.get("version") != VERSION:
        raise StateDecodeError(f"not a {FORMAT} file of version {VERSION}")
    corp_id = app[appkeys.CONFIG].corp_id
    if data.get("corp_id") != corp_id:
        raise StateDecodeError(f"saved for corp {data.get('corp_id')!r}, not {corp_id!r}")
    for part in ("corp", "kf", "ids", "tokens", "log", "archive", "oa", "oa_tokens", "mass"):
        _restore_part(app, part, data)
    app[appkeys.SENDER].issued = from_plain(int, data["callbacks_issued"])
    app[appkeys.OA_SENDER].issued = from_plain(int, data["oa_callbacks_issued"])
    app[appkeys.MSGIDS].issued.update(from_plain(list[str], data["archive_msgids"]))
    clock = app[appkeys.CLOCK]
    offset = from_plain(float, data["clock_offset"])
    if isinstance(clock, OffsetClock) and offset > clock.offset:
        clock.advance(offset - clock.offset)


def _restore_part(app: web.Application, part: str, data: Json) -> None:
    try:
        raw = data[part]
        if part == "corp":
            _assign(app[appkeys.CORP], from_plain(Corp, raw))
        elif part == "kf":
            _assign(app[appkeys.KF], from_plain(KfStore, raw))
        elif part == "ids":
            app[appkeys.IDS].restore(raw)
        elif part in ("tokens", "oa_tokens"):
            key = appkeys.TOKENS if part == "tokens" else appkeys.OA_TOKENS
            app[key].restore(_object(raw))
        elif part == "log":
            app[appkeys.LOG].restore(_object(raw))
        elif part == "archive":
            app[appkeys.ARCHIVE].restore(raw)
        elif part == "oa":
            app[appkeys.OA].restore(_object(raw))
        else:
            app[send_keys.MASS].restore(_object(raw))
    except (KeyError, TypeError, ValueError) as error:
        detail = f"missing {error}" if isinstance(error, KeyError) else str(error)
        raise StateDecodeError(f"{part}: {detail}") from None


def _object(raw: object) -> Json:
    if not isinstance(raw, dict):
        raise StateDecodeError("expected an object")
    return raw


def _assign(target: T, source: T) -> None:
    """Copy every dataclass field, keeping the target object that other components already point at."""
    for field in fields(source):  # type: ignore[arg-type]
        setattr(target, field.name, getattr(source, field.name))
