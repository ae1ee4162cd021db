"""The webhook over real HTTP and a real database: official vectors, durable ack, dedupe, and refusals."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import aiohttp
import pytest

from bot.channels.wecom.crypto import CallbackCrypto, signature
from bot.config.settings import load_settings
from storage.models.inbox import InboundEvent
from tests.support.bot_only import envelope, member_text, running_bot, signed
from tests.support.stack import DEMO, bot_settings

OFFICIAL_ENV = {
    "WECOM_TOKEN": "QDG6eK",
    "WECOM_AES_KEY": "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
    "WECOM_CORP_ID": "wx5823bf96d3bd56c7",
    "WECOM_SECRET": "unused-by-this-test",
    "WECOM_API_BASE": "http://127.0.0.1:9",  # nothing listens: any call to WeCom would fail loudly
}
OFFICIAL_POST = {
    "msg_signature": "477715d11cdb4164915debcba66cb864d751f3e6",
    "timestamp": "1409659813",
    "nonce": "1372623149",
}
OFFICIAL_ENCRYPT = (
    "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3"
    "TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gs"
    "ijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax"
    "5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIG"
    "HBZZIs2pDBS8R07+qN+E7Q=="
)
REPO_CONFIG = Path(__file__).resolve().parents[2] / "config.yaml"


async def _stored(engine: object) -> list[InboundEvent]:
    from sqlalchemy import select

    from storage.db import make_sessionmaker

    async with make_sessionmaker(engine)() as session:  # type: ignore[arg-type]
        return list((await session.execute(select(InboundEvent).order_by(InboundEvent.id))).scalars())


async def test_official_vectors_pass_when_env_carries_their_credentials_with_default_settings(
    database_url: str, engine: object
) -> None:
    settings = load_settings(REPO_CONFIG, {**OFFICIAL_ENV, "QUNKE_DATABASE_URL": database_url})
    async with running_bot(settings) as url, aiohttp.ClientSession() as http:
        query = {
            "msg_signature": "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3",
            "timestamp": "1409659589",
            "nonce": "263014780",
            "echostr": "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==",
        }
        async with http.get(f"{url}/wecom/callback", params=query) as resp:
            assert resp.status == 200
            assert await resp.text() == "1616140317555161061"
        body = envelope(OFFICIAL_ENCRYPT, "wx5823bf96d3bd56c7")
        for _ in range(2):  # the second delivery is a replay: acknowledged, not stored again
            async with http.post(f"{url}/wecom/callback", params=OFFICIAL_POST, data=body) as resp:
                assert resp.status == 200
                assert await resp.read() == b""
        rows = await _stored(engine)
    assert [(r.dedupe_key, r.kind) for r in rows] == [("msg:4561255354251345929", "text")]


async def test_row_is_on_disk_when_the_ack_arrives(database_url: str, engine: object) -> None:
    crypto = CallbackCrypto.from_settings(DEMO.token, DEMO.aes_key, DEMO.corp_id)
    async with running_bot(bot_settings(database_url, "http://127.0.0.1:9")) as url, aiohttp.ClientSession() as http:
        for i in range(20):
            query, body = signed(crypto, member_text(f"9000{i}"))
            async with http.post(f"{url}/wecom/callback", params=query, data=body) as resp:
                assert resp.status == 200
            assert f"msg:9000{i}" in {r.dedupe_key for r in await _stored(engine)}


async def test_concurrent_duplicates_store_one_row_when_delivered_at_once(database_url: str, engine: object) -> None:
    crypto = CallbackCrypto.from_settings(DEMO.token, DEMO.aes_key, DEMO.corp_id)
    async with running_bot(bot_settings(database_url, "http://127.0.0.1:9")) as url, aiohttp.ClientSession() as http:

        async def deliver() -> int:
            query, body = signed(crypto, member_text("777"))  # fresh nonce and ciphertext, same message
            async with http.post(f"{url}/wecom/callback", params=query, data=body) as resp:
                return resp.status

        statuses = await asyncio.gather(*(deliver() for _ in range(10)))
    assert statuses == [200] * 10
    assert [r.dedupe_key for r in await _stored(engine)] == ["msg:777"]


def _forged(crypto: CallbackCrypto) -> tuple[dict[str, str], str]:
    query, body = signed(crypto, member_text("1"))
    return {**query, "msg_signature": "f" * 40}, body


def _other_corp(crypto: CallbackCrypto) -> tuple[dict[str, str], str]:
    # Properly signed with our token, but encrypted for another corp: decrypts to the wrong receiveid.
    other = CallbackCrypto(crypto.token, crypto.key, "wwanothercorp0001")
    return signed(other, member_text("2"), corp_id=crypto.receive_id)


def _envelope_to_other_corp(crypto: CallbackCrypto) -> tuple[dict[str, str], str]:
    return signed(crypto, member_text("3"), corp_id="wwanothercorp0001")


def _bad_base64(crypto: CallbackCrypto) -> tuple[dict[str, str], str]:
    bad = "@@@not-base64@@@"
    return {"msg_signature": signature(crypto.token, "1", "n", bad), "timestamp": "1", "nonce": "n"}, envelope(
        bad, crypto.receive_id
    )


def _bad_padding(crypto: CallbackCrypto) -> tuple[dict[str, str], str]:
    import base64

    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    encryptor = Cipher(algorithms.AES(crypto.key), modes.CBC(crypto.key[:16])).encryptor()
    bad = base64.b64encode(encryptor.update(b"x" * 63 + b"\x00") + encryptor.finalize()).decode()
    return {"msg_signature": signature(crypto.token, "1", "n", bad), "timestamp": "1", "nonce": "n"}, envelope(
        bad, crypto.receive_id
    )


def _oversize(crypto: CallbackCrypto) -> tuple[dict[str, str], str]:
    query, body = signed(crypto, member_text("4", "长" * 40_000))
    return query, body


def _malformed_envelope(crypto: CallbackCrypto) -> tuple[dict[str, str], str]:
    query, body = signed(crypto, member_text("5"))
    return query, body[:-10]


def _billion_laughs_envelope(crypto: CallbackCrypto) -> tuple[dict[str, str], str]:
    lol = "".join(f'<!ENTITY l{i} "{"&l" + str(i - 1) + ";" * 10 if i else "lol"}">' for i in range(10))
    body = f'<?xml version="1.0"?><!DOCTYPE x [{lol}]><xml><Encrypt>&l9;</Encrypt></xml>'
    return {"msg_signature": "0" * 40, "timestamp": "1", "nonce": "n"}, body


def _billion_laughs_inside(crypto: CallbackCrypto) -> tuple[dict[str, str], str]:
    inner = (
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
        "<xml><MsgType>text</MsgType><Content>&b;</Content></xml>"
    )
    return signed(crypto, inner)


def _nested_1000_deep_unsigned(crypto: CallbackCrypto) -> tuple[dict[str, str], str]:
    # About 7 KB from a stranger: refused by depth before the signature check, never a RecursionError.
    body = "<xml><Encrypt>" + "<b>" * 1000 + "</b>" * 1000 + "</Encrypt></xml>"
    return {"msg_signature": "0" * 40, "timestamp": "1", "nonce": "n"}, body


def _nested_1000_deep_inside(crypto: CallbackCrypto) -> tuple[dict[str, str], str]:
    return signed(crypto, "<xml><MsgType>text</MsgType>" + "<b>" * 1000 + "</b>" * 1000 + "</xml>")


def _non_ascii_signature(crypto: CallbackCrypto) -> tuple[dict[str, str], str]:
    query, body = signed(crypto, member_text("7"))
    return {**query, "msg_signature": "签名" * 20}, body


def _empty_body(crypto: CallbackCrypto) -> tuple[dict[str, str], str]:
    query, _ = signed(crypto, member_text("8"))
    return query, ""


def _doctype_with_external_entity(crypto: CallbackCrypto) -> tuple[dict[str, str], str]:
    query, body = signed(crypto, member_text("9"))
    return query, '<!DOCTYPE xml SYSTEM "http://attacker.example/x.dtd">' + body


def _declared_unknown_encoding(crypto: CallbackCrypto) -> tuple[dict[str, str], str]:
    return signed(crypto, '<?xml version="1.0" encoding="x-nonsense"?><xml><FromUserName>a</FromUserName></xml>')


def _wrong_length_ciphertext(crypto: CallbackCrypto) -> tuple[dict[str, str], str]:
    bad = "QUJDRA=="  # valid base64, 4 bytes: not a whole AES block
    return {"msg_signature": signature(crypto.token, "1", "n", bad), "timestamp": "1", "nonce": "n"}, envelope(
        bad, crypto.receive_id
    )


def _missing_query(crypto: CallbackCrypto) -> tuple[dict[str, str], str]:
    query, body = signed(crypto, member_text("6"))
    return {"timestamp": query["timestamp"]}, body


@pytest.mark.parametrize(
    ("build", "status", "reason"),
    [
        (_forged, 403, "bad_signature"),
        (_other_corp, 403, "wrong_corp_id"),
        (_envelope_to_other_corp, 403, "wrong_corp_id"),
        (_bad_base64, 400, "bad_base64"),
        (_bad_padding, 400, "bad_padding"),
        (_oversize, 413, "body_too_large"),
        (_malformed_envelope, 400, "bad_envelope"),
        (_billion_laughs_envelope, 400, "bad_envelope"),
        (_billion_laughs_inside, 400, "bad_message"),
        (_missing_query, 400, "missing_query"),
        (_nested_1000_deep_unsigned, 400, "xml_too_deep"),
        (_nested_1000_deep_inside, 400, "bad_message"),
        (_non_ascii_signature, 403, "bad_signature"),
        (_empty_body, 400, "bad_envelope"),
        (_doctype_with_external_entity, 400, "bad_envelope"),
        (_declared_unknown_encoding, 400, "bad_message"),
        (_wrong_length_ciphertext, 400, "bad_ciphertext_length"),
    ],
)
async def test_callback_is_refused_logged_once_and_not_stored_when_input_is_bad(
    database_url: str, engine: object, caplog: pytest.LogCaptureFixture, build: object, status: int, reason: str
) -> None:
    crypto = CallbackCrypto.from_settings(DEMO.token, DEMO.aes_key, DEMO.corp_id)
    query, body = build(crypto)  # type: ignore[operator]
    async with running_bot(bot_settings(database_url, "http://127.0.0.1:9")) as url, aiohttp.ClientSession() as http:
        with caplog.at_level(logging.WARNING, logger="qunke.webhook"):
            async with http.post(f"{url}/wecom/callback", params=query, data=body.encode()) as resp:
                assert resp.status == status
                assert await resp.text() == reason
    refusals = [r for r in caplog.records if r.name == "qunke.webhook"]
    assert len(refusals) == 1 and reason in refusals[0].getMessage()
    assert await _stored(engine) == []


async def test_get_verification_is_refused_when_signature_is_forged(database_url: str) -> None:
    async with running_bot(bot_settings(database_url, "http://127.0.0.1:9")) as url, aiohttp.ClientSession() as http:
        query = {"msg_signature": "0" * 40, "timestamp": "1", "nonce": "2", "echostr": "abcd"}
        async with http.get(f"{url}/wecom/callback", params=query) as resp:
            assert resp.status == 403


async def test_refusal_is_counted_by_reason_when_xml_is_nested_too_deep(database_url: str) -> None:
    query, body = _nested_1000_deep_unsigned(CallbackCrypto.from_settings(DEMO.token, DEMO.aes_key, DEMO.corp_id))
    async with running_bot(bot_settings(database_url, "http://127.0.0.1:9")) as url, aiohttp.ClientSession() as http:
        async with http.post(f"{url}/wecom/callback", params=query, data=body.encode()) as resp:
            assert resp.status == 400
        async with http.get(f"{url}/metrics") as resp:
            metrics = await resp.text()
    assert 'qunke_callbacks_refused_total{reason="xml_too_deep"} 1.0' in metrics


async def test_url_over_8_kb_is_a_400_and_one_quiet_log_line_when_a_client_sends_it(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_bot(bot_settings(database_url, "http://127.0.0.1:9")) as url, aiohttp.ClientSession() as http:
        with caplog.at_level(logging.DEBUG, logger="aiohttp.server"):
            async with http.get(f"{url}/wecom/callback?x={'a' * 9000}") as resp:
                assert resp.status == 400
    server = [r for r in caplog.records if r.name == "aiohttp.server"]
    assert len(server) == 1, [r.getMessage() for r in server]
    assert server[0].levelno == logging.WARNING and server[0].exc_info is None
    assert "LineTooLong" in server[0].getMessage() and "aaaa" not in server[0].getMessage()


async def test_callback_is_stored_when_the_content_type_is_not_xml(database_url: str, engine: object) -> None:
    crypto = CallbackCrypto.from_settings(DEMO.token, DEMO.aes_key, DEMO.corp_id)
    query, body = signed(crypto, member_text("9100"))
    headers = {"Content-Type": "application/json"}  # WeCom's own header varies; the body is what counts
    async with running_bot(bot_settings(database_url, "http://127.0.0.1:9")) as url, aiohttp.ClientSession() as http:
        resp = await http.post(f"{url}/wecom/callback", params=query, data=body.encode(), headers=headers)
        assert resp.status == 200
        resp.release()
    assert [r.dedupe_key for r in await _stored(engine)] == ["msg:9100"]
