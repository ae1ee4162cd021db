"""The fault-injection ring around every /cgi-bin/ call: errcode answers, latency, dropped connections."""

from __future__ import annotations

import asyncio

from aiohttp import web
from aiohttp.typedefs import Handler

from sandbox import appkeys
from sandbox.delivery.send_records import FaultApplied
from sandbox.faults import API_PREFIX, Drop, Fault
from sandbox.qyapi import keys as send_keys
from sandbox.qyapi.reply import QyapiError, api_error
from sandbox.qyapi.tokens import TokenCheck

# nginx's "closed without response": only the sandbox's access log sees it, the client sees a disconnect.
NO_RESPONSE_STATUS = 444


def _drop(request: web.Request) -> web.Response:
    """Close the socket without a byte of answer; the client sees ServerDisconnectedError or a reset."""
    if request.transport is not None:
        request.transport.abort()
    return web.Response(status=NO_RESPONSE_STATUS)


def _revoke_token(app: web.Application, errcode: int) -> None:
    """An injected 42001/40014 makes the current token really expired/invalid, so a refresh is the only way on."""
    tokens = app[appkeys.TOKENS]
    if errcode == TokenCheck.EXPIRED:
        tokens.expire()
    elif errcode == TokenCheck.INVALID:
        tokens.invalidate()


async def _delay(fault: Fault) -> None:
    # Real time, not the sandbox clock: latency is what the client's timeout measures.
    if fault.latency_ms:
        await asyncio.sleep(fault.latency_ms / 1000)


@web.middleware
async def faults_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Inside the limits ring and outside the token check, so an injected answer needs no valid token.

    Latency holds the answer back after the API ran (a client that times out may find its send done); with
    an errcode or drop-before the API never runs.
    """
    if not request.path.startswith(API_PREFIX):
        return await handler(request)
    fault = request.app[send_keys.FAULTS].take(request.path)
    if fault is None:
        return await handler(request)
    drop = fault.drop.value if fault.drop else None
    record = FaultApplied(
        fault.fault_id, request.path, fault.errcode, fault.latency_ms, drop, fault.executes, fault.remaining
    )
    request.app[appkeys.LOG].append(record)
    if not fault.executes:
        await _delay(fault)
        if fault.errcode is None:
            return _drop(request)
        _revoke_token(request.app, fault.errcode)
        return api_error(request, QyapiError(fault.errcode))
    response = await handler(request)
    await _delay(fault)
    return _drop(request) if fault.drop is Drop.AFTER else response
