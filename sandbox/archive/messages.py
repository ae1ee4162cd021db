"""Decrypted archive messages (WECOM.md §2c): msgids, the common head, and text, media and revoke bodies."""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from sandbox.model import ActionError
from sandbox.wire import Json

# A msgid whose sender is outside the corp ends in "_external" (WECOM.md §2c).
EXTERNAL_SUFFIX: Final = "_external"
VOICE_MAX_S: Final = 60
FILENAME_MAX: Final = 255
# Roughly what AMR voice takes per second; only the shape of voice_size matters to a reader.
AMR_BYTES_PER_S: Final = 1600


class MsgIds:
    """msgids shaped like the archive's: <digits>_<unix seconds>, plus _external for a customer's message."""

    def __init__(self) -> None:
        self._issued: set[str] = set()

    @property
    def issued(self) -> set[str]:
        return self._issued

    def next(self, now_s: int, external: bool) -> str:
        while True:
            msgid = f"{10**18 + secrets.randbelow(9 * 10**18)}_{now_s}"
            if external:
                msgid += EXTERNAL_SUFFIX
            if msgid not in self._issued:
                self._issued.add(msgid)
                return msgid


@dataclass(frozen=True, slots=True)
class Envelope:
    """Who said it, to whom and where: the fields every archived message shares."""

    sender: str
    tolist: tuple[str, ...]
    roomid: str
    chat: str
    external: bool


def message(msgid: str, action: str, envelope: Envelope, msgtime_ms: int, msgtype: str, body: Json) -> Json:
    """The decrypted JSON in the field order of WeCom's samples; the body sits under the msgtype's own name."""
    return {
        "msgid": msgid,
        "action": action,
        "from": envelope.sender,
        "tolist": list(envelope.tolist),
        "roomid": envelope.roomid,
        "msgtime": msgtime_ms,
        "msgtype": msgtype,
        msgtype: body,
    }


def text_body(content: str) -> Json:
    return {"content": content}


def revoke_body(pre_msgid: str) -> Json:
    return {"pre_msgid": pre_msgid}


class MediaKind(StrEnum):
    IMAGE = "image"
    FILE = "file"
    VOICE = "voice"


@dataclass(frozen=True, slots=True)
class MediaSpec:
    """What the simulator user asked for; unset sizes get plausible values."""

    kind: MediaKind
    filename: str = ""
    size: int | None = None
    play_length: int | None = None


def media_body(spec: MediaSpec) -> Json:
    """The archive's image, file and voice bodies. The bytes behind sdkfileid are not simulated (no GetMediaData)."""
    sdkfileid = base64.b64encode(os.urandom(120)).decode("ascii")
    md5sum = hashlib.md5(os.urandom(32)).hexdigest()
    if spec.kind is MediaKind.IMAGE:
        return {"md5sum": md5sum, "filesize": _size(spec.size, 20_000, 800_000), "sdkfileid": sdkfileid}
    if spec.kind is MediaKind.FILE:
        filename = (spec.filename or "资料.pdf").strip()
        if not filename or len(filename) > FILENAME_MAX or "/" in filename:
            raise ActionError(
                400, "bad_filename", "文件名无效", f"filename must be 1-{FILENAME_MAX} characters, no '/'"
            )
        ext = filename.rpartition(".")[2].lower() if "." in filename else ""
        size = _size(spec.size, 50_000, 5_000_000)
        return {"md5sum": md5sum, "filename": filename, "fileext": ext, "filesize": size, "sdkfileid": sdkfileid}
    seconds = spec.play_length if spec.play_length is not None else 3 + secrets.randbelow(15)
    if not 1 <= seconds <= VOICE_MAX_S:
        raise ActionError(
            400, "bad_play_length", f"语音时长应为 1 到 {VOICE_MAX_S} 秒", f"play_length must be 1-{VOICE_MAX_S} s"
        )
    size = _size(spec.size, seconds * AMR_BYTES_PER_S, seconds * AMR_BYTES_PER_S + 1)
    return {"md5sum": md5sum, "voice_size": size, "play_length": seconds, "sdkfileid": sdkfileid}


def _size(given: int | None, low: int, high: int) -> int:
    if given is None:
        return low + secrets.randbelow(high - low)
    if given <= 0:
        raise ActionError(400, "bad_size", "文件大小应为正整数", "size must be a positive integer")
    return given
