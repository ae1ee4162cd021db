"""The sandbox's own WXBizMsgCrypt against Tencent's official test vectors (WECOM.md §1.6) and wechatpy."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from wechatpy.work.crypto import PrpCrypto

from sandbox.crypto import CallbackCrypto, CryptoError, signature

TOKEN = "QDG6eK"
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
CORP_ID = "wx5823bf96d3bd56c7"
ECHOSTR = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="
POST_ENCRYPT = (
    "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYv"
    "uJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+Lt"
    "wGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V"
    "2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptD"
    "AVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q=="
)
KEY_BYTES = base64.b64decode(AES_KEY + "=")


@pytest.fixture
def official() -> CallbackCrypto:
    return CallbackCrypto(TOKEN, AES_KEY, CORP_ID)


def test_official_echostr_decrypts_to_its_plaintext_when_using_sandbox_crypto(official: CallbackCrypto) -> None:
    assert official.decrypt(ECHOSTR) == "1616140317555161061"


def test_official_post_decrypts_to_text_message_when_using_sandbox_crypto(official: CallbackCrypto) -> None:
    message, receive_id = official.decrypt_with_id(POST_ENCRYPT)
    assert receive_id == CORP_ID
    assert "<FromUserName><![CDATA[mycreate]]></FromUserName>" in message
    assert "<Content><![CDATA[hello]]></Content>" in message
    assert "<MsgId>4561255354251345929</MsgId>" in message
    assert "<AgentID>218</AgentID>" in message


def test_signature_matches_official_get_when_signing_echostr() -> None:
    assert signature(TOKEN, "1409659589", "263014780", ECHOSTR) == "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3"


def test_signature_matches_official_post_when_signing_encrypt(official: CallbackCrypto) -> None:
    assert official.sign("1409659813", "1372623149", POST_ENCRYPT) == "477715d11cdb4164915debcba66cb864d751f3e6"


def test_wechatpy_decrypts_when_sandbox_encrypts_unicode(official: CallbackCrypto) -> None:
    message = "<xml><Name><![CDATA[小鹿乱撞🦌]]></Name></xml>"
    assert PrpCrypto(KEY_BYTES).decrypt(official.encrypt(message), CORP_ID) == message


def test_sandbox_decrypts_when_wechatpy_encrypts(official: CallbackCrypto) -> None:
    encrypted = PrpCrypto(KEY_BYTES).encrypt("王姐(宝妈)", CORP_ID)
    assert official.decrypt(encrypted.decode() if isinstance(encrypted, bytes) else encrypted) == "王姐(宝妈)"


@pytest.mark.parametrize("length", [0, 1, 11, 12, 13, 43, 44, 100])
def test_padding_fills_to_32_byte_multiple_when_encrypting(official: CallbackCrypto, length: int) -> None:
    raw = base64.b64decode(official.encrypt("x" * length))
    decryptor = Cipher(algorithms.AES(KEY_BYTES), modes.CBC(KEY_BYTES[:16])).decryptor()
    plain = decryptor.update(raw) + decryptor.finalize()
    pad = plain[-1]
    unpadded = 16 + 4 + length + len(CORP_ID)
    assert len(plain) % 32 == 0
    assert pad == 32 - unpadded % 32
    assert plain[-pad:] == bytes([pad]) * pad


def test_decrypt_refuses_when_receiveid_differs() -> None:
    other = CallbackCrypto(TOKEN, AES_KEY, "ww0000000000000000")
    with pytest.raises(CryptoError) as caught:
        other.decrypt(ECHOSTR)
    assert caught.value.code == -40005


def test_decrypt_refuses_when_ciphertext_is_not_base64(official: CallbackCrypto) -> None:
    with pytest.raises(CryptoError) as caught:
        official.decrypt("not base64 at all!")
    assert caught.value.code == -40010


def test_decrypt_refuses_when_padding_is_forged(official: CallbackCrypto) -> None:
    encryptor = Cipher(algorithms.AES(KEY_BYTES), modes.CBC(KEY_BYTES[:16])).encryptor()
    forged = encryptor.update(b"\x00" * 31 + b"\x40") + encryptor.finalize()
    with pytest.raises(CryptoError) as caught:
        official.decrypt(base64.b64encode(forged).decode())
    assert caught.value.code == -40008


def test_crypto_refuses_when_aes_key_is_not_43_base64_chars() -> None:
    with pytest.raises(CryptoError) as caught:
        CallbackCrypto(TOKEN, "short", CORP_ID)
    assert caught.value.code == -40004
