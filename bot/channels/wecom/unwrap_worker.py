"""The archive's unwrap process (`python -m bot.channels.wecom.unwrap_worker`), started by UnwrapPool.

It imports only cryptography and bot/channels/wecom/archive_open.py. The first line on stdin is
{"keys": {version: PEM}, "opener": the source's worker_opener() or null}; then each line is a chunk of items (JSON:
[[version, wrapped key in base64, encrypt_chat_msg or null], ...]) and each answer one line in the same order: for an
item sent without its message, ["k", base64 of the plain key]; with it (the process opens the item, so the bot gets
the message), ["m", the message object]; or ["e", reason, detail] (the reasons of ItemUnreadable). It ends when
stdin closes (the bot stopped or died).
"""

from __future__ import annotations

import base64
import json
import signal
import sys
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding

from bot.channels.wecom.archive_open import Decrypt, ItemUnreadable, decrypt_for, open_with


def answer_all(keys: dict[int, Any], decrypt: Decrypt | None, items: list[list[Any]]) -> list[list[Any]]:
    out: list[list[Any]] = []
    for version, encrypted, chat_msg in items:
        key = keys.get(int(version))
        if key is None:
            out.append(["e", "unknown_key_version", f"publickey_ver {version} not loaded in the unwrap process"])
            continue
        try:
            plain = key.decrypt(base64.b64decode(encrypted, validate=True), padding.PKCS1v15())
        except ValueError as exc:
            out.append(["e", "key_decrypt_failed", str(exc) or type(exc).__name__])
            continue
        if chat_msg is None or decrypt is None:
            out.append(["k", base64.b64encode(plain).decode()])
            continue
        try:
            out.append(["m", open_with(decrypt, plain, chat_msg)])
        except ItemUnreadable as exc:
            out.append(["e", exc.reason, exc.detail])
    return out


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the bot, which closes our stdin
    setup = json.loads(sys.stdin.readline() or "{}")
    pems, opener = setup.get("keys") or {}, setup.get("opener")
    keys = {int(v): serialization.load_pem_private_key(pem.encode(), password=None) for v, pem in pems.items()}
    decrypt = decrypt_for(opener) if opener else None
    for line in sys.stdin:
        sys.stdout.write(json.dumps(answer_all(keys, decrypt, json.loads(line))) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
