"""POST /cgi-bin/message/send: app messages to members, with silent drops over the limits and a duplicate check."""

from __future__ import annotations

import secrets

from aiohttp import web

from sandbox import appkeys
from sandbox.delivery.send_records import AppMessage, AppMessageDropped, AppMessageDuplicate
from sandbox.messages.body import MessageContent, message_content
from sandbox.messages.dedupe import duplicate_check, request_key
from sandbox.messages.recipients import Recipients, resolve_recipients
from sandbox.qyapi import keys as send_keys
from sandbox.qyapi.reply import QyapiError, api_ok, json_body
from sandbox.wire import Json


def _agentid(body: Json, expected: int) -> int:
    """41011 when missing; 40056 when it is not this app's id (WeCom's 不合法的agentid)."""
    if "agentid" not in body:
        raise QyapiError(41011)
    agentid = body["agentid"]
    # The doc gives an integer; UNCONFIRMED whether WeCom accepts "1000002" as a string, the sandbox does not.
    if not isinstance(agentid, int) or isinstance(agentid, bool) or agentid != expected:
        raise QyapiError(40056)
    return agentid


def _answer(recipients: Recipients, msgid: str, content: MessageContent) -> web.Response:
    payload: Json = {
        "invaliduser": "|".join(recipients.invaliduser),
        "invalidparty": "|".join(recipients.invalidparty),
        "invalidtag": "|".join(recipients.invalidtag),
        # UNCONFIRMED when WeCom fills unlicenseduser (members without an interoperability licence); never here.
        "unlicenseduser": "",
        "msgid": msgid,
    }
    if content.interactive:
        # Lets message/update_template_card change this card later (within 72 h, WECOM.md §2a).
        payload["response_code"] = secrets.token_urlsafe(32)
    return api_ok(payload)


async def message_send(request: web.Request) -> web.Response:
    """Validate, resolve, check duplicates, then deliver or drop per recipient; each outcome is logged."""
    app = request.app
    body = await json_body(request)
    agentid = _agentid(body, app[appkeys.CONFIG].agent_id)
    content = message_content(body)
    check = duplicate_check(body)
    recipients = resolve_recipients(app[appkeys.CORP], body)
    if not recipients.userids:
        raise QyapiError(81013)
    now = app[appkeys.CLOCK].epoch()
    log = app[appkeys.LOG]
    msgid = secrets.token_urlsafe(24)
    duplicates = app[send_keys.DUPLICATES]
    key = request_key(agentid, content, recipients)
    previous = duplicates.previous(key, now, check.interval_s) if check.enabled else None
    if previous is not None:
        # A fresh msgid (UNCONFIRMED whether WeCom repeats the first one): a bot must not rely on either.
        for userid in recipients.userids:
            log.append(AppMessageDuplicate(msgid, previous.msgid, agentid, userid, content.msgtype, content.summary))
        return _answer(recipients, msgid, content)
    if check.enabled:
        duplicates.remember(key, now, msgid)
    quota = app[send_keys.QUOTA]
    for userid in recipients.userids:
        reason = quota.admit(userid, now)
        if reason is None:
            payload = content.payload
            log.append(AppMessage(msgid, agentid, userid, content.msgtype, content.summary, payload, check.enabled))
        else:
            log.append(AppMessageDropped(msgid, agentid, userid, content.msgtype, content.summary, reason))
    return _answer(recipients, msgid, content)


def setup_qyapi_message(app: web.Application) -> None:
    app.router.add_post("/cgi-bin/message/send", message_send)
