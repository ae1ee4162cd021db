"""Callback URL verification: a signed GET with an encrypted echostr that must come back as plaintext in 1 s."""

from __future__ import annotations

from tests.sandbox.receiver import Receiver
from tests.sandbox.sandbox_api import Client, log, post_json


async def test_verify_succeeds_when_receiver_echoes_plaintext(sandbox: Client, receiver: Receiver) -> None:
    status, result = await post_json(sandbox, "/sandbox/verify-url")
    assert status == 200
    assert result["ok"] is True and result["outcome"] == "ok"
    assert result["body"] == result["expected"] and result["expected"].isdigit()
    # The receiver found echostr intact after URL decoding (base64 '+', '/' and '=' survive the query string).
    assert set(receiver.echo_queries[0]) == {"msg_signature", "timestamp", "nonce", "echostr"}
    assert (await log(sandbox))[-1]["kind"] == "verify_url"


async def test_verify_fails_when_receiver_adds_a_newline(sandbox: Client, receiver: Receiver) -> None:
    receiver.echo = "newline"
    _, result = await post_json(sandbox, "/sandbox/verify-url")
    assert result["ok"] is False and result["outcome"] == "mismatch"


async def test_verify_fails_when_receiver_takes_longer_than_one_second(sandbox: Client, receiver: Receiver) -> None:
    receiver.echo = "slow"
    _, result = await post_json(sandbox, "/sandbox/verify-url")
    assert result["ok"] is False and result["outcome"] == "timeout"
