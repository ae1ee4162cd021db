"""Admin API for fault injection: POST, GET and DELETE /sandbox/faults."""

from __future__ import annotations

from aiohttp import web

from sandbox.http_json import Body, error_response, json_response, read_object
from sandbox.model import ActionError
from sandbox.qyapi import keys as send_keys


async def post_fault(request: web.Request) -> web.Response:
    """{"api", "errcode"?, "latency_ms"?, "drop"?: "before"|"after", "times"?: 1 (0 = until cleared)}."""
    try:
        raw = await read_object(request)
        body = Body(raw)
        fault = request.app[send_keys.FAULTS].add(
            api=body.text("api"),
            errcode=body.integer("errcode", 0) if raw.get("errcode") is not None else None,
            latency_ms=body.integer("latency_ms", 0),
            drop=body.optional_text("drop") or None,
            times=body.integer("times", 1),
        )
    except ActionError as error:
        return error_response(error)
    return json_response({"fault": fault.to_json()})


async def get_faults(request: web.Request) -> web.Response:
    return json_response({"faults": [fault.to_json() for fault in request.app[send_keys.FAULTS].active()]})


async def delete_faults(request: web.Request) -> web.Response:
    """Clear every fault, or with ?api=PATH only those registered for exactly that path."""
    api = request.query.get("api") or None
    return json_response({"cleared": request.app[send_keys.FAULTS].clear(api)})


def setup_admin_faults(app: web.Application) -> None:
    app.router.add_post("/sandbox/faults", post_fault)
    app.router.add_get("/sandbox/faults", get_faults)
    app.router.add_delete("/sandbox/faults", delete_faults)
