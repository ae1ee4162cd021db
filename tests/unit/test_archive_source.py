"""The archive's shared RSA step, the sandbox's symmetric scheme, and the Finance SDK binding through ctypes."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import padding as sym_padding
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from bot.channels.wecom.archive import (
    ArchiveItem,
    ArchiveKeys,
    ArchiveSourceError,
    FinanceSdkArchiveSource,
    ItemUnreadable,
    SandboxArchiveSource,
    open_item,
)

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def sealed(message: dict[str, object], version: int = 1, key: rsa.RSAPrivateKey = KEY) -> ArchiveItem:
    """An item as the sandbox documents it: RSA-wrapped 32-byte key, AES-256-CBC with IV = key[:16]."""
    random_key = os.urandom(16).hex().encode()
    padder = sym_padding.PKCS7(128).padder()
    data = padder.update(json.dumps(message, ensure_ascii=False).encode()) + padder.finalize()
    encryptor = Cipher(algorithms.AES(random_key), modes.CBC(random_key[:16])).encryptor()
    return ArchiveItem(
        seq=7,
        msgid=str(message.get("msgid", "")),
        publickey_ver=version,
        encrypt_random_key=base64.b64encode(key.public_key().encrypt(random_key, padding.PKCS1v15())).decode(),
        encrypt_chat_msg=base64.b64encode(encryptor.update(data) + encryptor.finalize()).decode(),
    )


def source() -> SandboxArchiveSource:
    return SandboxArchiveSource(None, "http://127.0.0.1:1", "ww", "s", 1)  # type: ignore[arg-type]


def test_round_trip_with_the_configured_key() -> None:
    message = {"msgid": "m1", "action": "send", "msgtype": "text", "text": {"content": "你好👋"}}
    assert open_item(source(), ArchiveKeys({1: KEY}), sealed(message)) == message


def test_unknown_key_version_is_one_clear_log_line(caplog: pytest.LogCaptureFixture) -> None:
    keys = ArchiveKeys({1: KEY})
    for _ in range(3):
        with pytest.raises(ItemUnreadable) as failed:
            open_item(source(), keys, sealed({"msgid": "m"}, version=4))
        assert failed.value.reason == "unknown_key_version"
    lines = [r for r in caplog.records if "key version 4" in r.getMessage()]
    assert len(lines) == 1 and "QUNKE_ARCHIVE_PRIVATE_KEYS" in lines[0].getMessage()


def test_wrong_key_and_corrupt_ciphertext_are_unreadable_not_crashes() -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(ItemUnreadable) as wrong_key:
        open_item(source(), ArchiveKeys({1: KEY}), sealed({"msgid": "m"}, key=other))
    assert wrong_key.value.reason in ("key_decrypt_failed", "decrypt_failed")
    item = sealed({"msgid": "m"})
    corrupt = ArchiveItem(item.seq, item.msgid, 1, item.encrypt_random_key, base64.b64encode(b"x" * 32).decode())
    with pytest.raises(ItemUnreadable) as bad:
        open_item(source(), ArchiveKeys({1: KEY}), corrupt)
    assert bad.value.reason == "decrypt_failed"


@pytest.fixture(scope="module")
def fake_sdk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.skip("no C compiler to build the fake Finance SDK")
    out = tmp_path_factory.mktemp("sdk") / "libWeWorkFinanceSdk_C.so"
    src = Path(__file__).parent / "fake_finance_sdk" / "fake_sdk.c"
    subprocess.run([compiler, "-shared", "-fPIC", "-O1", "-o", str(out), str(src)], check=True)
    return out


async def test_finance_sdk_fetches_and_decrypts_through_ctypes(fake_sdk: Path) -> None:
    sdk = FinanceSdkArchiveSource(fake_sdk, "wwfakecorp", "archive-secret", timeout_s=5)
    try:
        items = await sdk.fetch(0, 2)
        assert [(i.seq, i.msgid, i.publickey_ver) for i in items] == [(1, "m1", 1), (2, "m2", 1)]
        assert [i.seq for i in await sdk.fetch(2, 1000)] == [3]
        assert await sdk.fetch(3, 1000) == []
        assert json.loads(sdk.decrypt(b"RANDOMKEY", "C1")) == {"msgid": "x", "key": "RANDOMKEY", "msg": "C1"}
        with pytest.raises(ItemUnreadable):
            sdk.decrypt(b"K", "BROKEN")
    finally:
        await sdk.close()


def test_finance_sdk_init_failure_is_a_clear_error(fake_sdk: Path) -> None:
    with pytest.raises(ArchiveSourceError) as failed:
        FinanceSdkArchiveSource(fake_sdk, "wwfakecorp", "wrong", timeout_s=5)
    assert failed.value.code == 10000 and "secret" in str(failed.value)
