"""The archive's RSA unwrap process (`python -m bot.channels.wecom.unwrap_worker`), started by UnwrapPool.

It imports only cryptography. The first line on stdin is the private keys (JSON: version → PEM); then each line is a
chunk of wrapped keys (JSON: [[version, base64], ...]) and each answer one line in the same order: ["k", base64 of
the plain key] or ["e", why it failed]. It ends when stdin closes (the bot stopped or died).
"""

from __future__ import annotations

import base64
import json
import signal
import sys
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding


def unwrap_all(keys: dict[int, Any], wrapped: list[list[Any]]) -> list[list[str]]:
    out: list[list[str]] = []
    for version, encrypted in wrapped:
        key = keys.get(int(version))
        if key is None:
            out.append(["e", f"publickey_ver {version} not loaded in the unwrap process"])
            continue
        try:
            plain = key.decrypt(base64.b64decode(encrypted, validate=True), padding.PKCS1v15())
        except ValueError as exc:
            out.append(["e", str(exc) or type(exc).__name__])
        else:
            out.append(["k", base64.b64encode(plain).decode()])
    return out


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the bot, which closes our stdin
    pems = json.loads(sys.stdin.readline() or "{}")
    keys = {int(v): serialization.load_pem_private_key(pem.encode(), password=None) for v, pem in pems.items()}
    for line in sys.stdin:
        sys.stdout.write(json.dumps(unwrap_all(keys, json.loads(line))) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
