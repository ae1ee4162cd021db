"""Callback crypto against Tencent's official vectors (WECOM.md §1.6) and hostile ciphertexts."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from bot.channels.wecom.crypto import CallbackCrypto, CallbackCryptoError, CryptoFailure, signature

TOKEN, AES_KEY, CORP_ID = "QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wx5823bf96d3bd56c7"
ECHOSTR = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="
POST_ENCRYPT = (
    "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3"
    "TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gs"
    "ijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax"
    "5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIG"
    "HBZZIs2pDBS8R07+qN+E7Q=="
)


@pytest.fixture
def crypto() -> CallbackCrypto:
    return CallbackCrypto.from_settings(TOKEN, AES_KEY, CORP_ID)


def test_official_get_vector_verifies_and_decrypts_when_using_tencents_constants(crypto: CallbackCrypto) -> None:
    crypto.verify("5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3", "1409659589", "263014780", ECHOSTR)
    assert crypto.decrypt(ECHOSTR) == "1616140317555161061"


def test_official_post_vector_decrypts_to_the_text_message_when_using_tencents_constants(
    crypto: CallbackCrypto,
) -> None:
    crypto.verify("477715d11cdb4164915debcba66cb864d751f3e6", "1409659813", "1372623149", POST_ENCRYPT)
    plain = crypto.decrypt(POST_ENCRYPT)
    assert "<FromUserName><![CDATA[mycreate]]></FromUserName>" in plain
    assert "<Content><![CDATA[hello]]></Content>" in plain
    assert "<MsgId>4561255354251345929</MsgId>" in plain


def test_encrypt_then_decrypt_round_trips_when_message_is_chinese(crypto: CallbackCrypto) -> None:
    message = "<xml><Content><![CDATA[你好，五星好评👍]]></Content></xml>"
    assert crypto.decrypt(crypto.encrypt(message)) == message


def test_signature_is_sha1_of_sorted_parts_when_computed() -> None:
    assert signature(TOKEN, "1409659813", "1372623149", POST_ENCRYPT) == "477715d11cdb4164915debcba66cb864d751f3e6"


def test_verify_refuses_when_signature_is_forged(crypto: CallbackCrypto) -> None:
    with pytest.raises(CallbackCryptoError) as err:
        crypto.verify("0" * 40, "1409659813", "1372623149", POST_ENCRYPT)
    assert err.value.failure is CryptoFailure.BAD_SIGNATURE


def test_decrypt_refuses_when_receiver_is_another_corp() -> None:
    other = CallbackCrypto.from_settings(TOKEN, AES_KEY, "wwsomeoneelse")
    with pytest.raises(CallbackCryptoError) as err:
        other.decrypt(POST_ENCRYPT)
    assert err.value.failure is CryptoFailure.WRONG_RECEIVER


@pytest.mark.parametrize(
    ("ciphertext", "failure"),
    [
        ("not base64 at all!!", CryptoFailure.BAD_BASE64),
        ("QUJD", CryptoFailure.BAD_LENGTH),  # 3 bytes: not a whole AES block
        ("", CryptoFailure.BAD_LENGTH),
        (POST_ENCRYPT[:100] + "*" + POST_ENCRYPT[101:], CryptoFailure.BAD_BASE64),
        (POST_ENCRYPT[:-2], CryptoFailure.BAD_BASE64),  # truncated: incorrect padding
    ],
)
def test_decrypt_refuses_when_ciphertext_is_malformed(
    crypto: CallbackCrypto, ciphertext: str, failure: CryptoFailure
) -> None:
    with pytest.raises(CallbackCryptoError) as err:
        crypto.decrypt(ciphertext)
    assert err.value.failure is failure


def _raw_encrypt(crypto: CallbackCrypto, plain: bytes) -> str:
    encryptor = Cipher(algorithms.AES(crypto.key), modes.CBC(crypto.key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


@pytest.mark.parametrize("last_byte", [0, 33, 200])
def test_decrypt_refuses_when_pad_byte_is_out_of_range(crypto: CallbackCrypto, last_byte: int) -> None:
    with pytest.raises(CallbackCryptoError) as err:
        crypto.decrypt(_raw_encrypt(crypto, b"A" * 31 + bytes([last_byte])))
    assert err.value.failure is CryptoFailure.BAD_PADDING


def test_decrypt_refuses_when_length_prefix_overruns_the_plaintext(crypto: CallbackCrypto) -> None:
    plain = b"R" * 16 + (10_000).to_bytes(4, "big") + b"<xml/>" + CORP_ID.encode()
    pad = 32 - len(plain) % 32
    with pytest.raises(CallbackCryptoError) as err:
        crypto.decrypt(_raw_encrypt(crypto, plain + bytes([pad]) * pad))
    assert err.value.failure is CryptoFailure.BAD_LAYOUT
