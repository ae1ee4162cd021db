"""A member's text message to the self-built app (WECOM.md §2a), pushed to the bot like WeCom's app callback."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from aiohttp import web

from sandbox import appkeys
from sandbox.events import CallbackEvent, cdata
from sandbox.http_json import Body, error_response, json_response, read_object
from sandbox.model import ActionError

# Inbound app text has no documented length cap; outbound text is 2,048 bytes [D:90236]. The sandbox refuses
# longer inbound text too, the stricter reading (UNCONFIRMED).
APP_TEXT_MAX_BYTES: Final = 2048
APP_MESSAGE: Final = "text"


@dataclass(frozen=True, slots=True)
class AppTextMessage(CallbackEvent):
    """`MsgType=text` from a member: ToUserName, FromUserName (userid), CreateTime, MsgType, Content, MsgId,
    AgentID, in that order (go-workwx docs/rx_msg.md). A message, not an event: never held back as late."""

    def to_xml(self, corp_id: str) -> str:
        values = dict(self.fields)
        return (
            f"<xml><ToUserName>{cdata(corp_id)}</ToUserName><FromUserName>{cdata(self.from_user)}</FromUserName>"
            f"<CreateTime>{self.create_time}</CreateTime><MsgType>{cdata(APP_MESSAGE)}</MsgType>"
            f"<Content>{cdata(str(values['Content']))}</Content><MsgId>{values['MsgId']}</MsgId>"
            f"<AgentID>{values['AgentID']}</AgentID></xml>"
        )


@dataclass(frozen=True, slots=True)
class MemberAppText:
    """Delivery-log record of what a member typed to the app, so the page shows the member's side of the chat."""

    msgid: str
    userid: str
    text: str
    delivery_id: str

    @property
    def kind(self) -> str:
        return "member_app_text"

    def fields(self) -> dict[str, object]:
        return {"msgid": self.msgid, "userid": self.userid, "text": self.text, "delivery_id": self.delivery_id}


def app_text(userid: str, text: str, now: int, msgid: str, agent_id: int) -> AppTextMessage:
    fields = (("Content", text), ("MsgId", msgid), ("AgentID", str(agent_id)))
    return AppTextMessage(APP_MESSAGE, "", now, fields, may_lag=False, from_user=userid, app_callback=True)


def check_app_text(text: object) -> str:
    """Kept as typed (no trimming), as the chat actions keep what a customer said."""
    if not isinstance(text, str) or not text.strip():
        raise ActionError(400, "empty_text", "消息内容不能为空", "the text is empty")
    if len(text.encode()) > APP_TEXT_MAX_BYTES:
        raise ActionError(
            400,
            "too_long",
            f"应用消息最多 {APP_TEXT_MAX_BYTES} 字节",
            f"an app message is limited to {APP_TEXT_MAX_BYTES} bytes",
        )
    return text


async def member_app_say(request: web.Request) -> web.Response:
    """POST /sandbox/act/member-app-say {"member": USERID, "text": "认领 T1"}: the member types to the app.

    The sandbox has no app visibility range: every member of the corp may write to the app (in WeCom only members
    in the app's visible range can).
    """
    app = request.app
    try:
        raw = await read_object(request)
        member = app[appkeys.CORP].member(Body(raw).text("member"))
        text = check_app_text(raw.get("text"))
        now = app[appkeys.CLOCK].epoch()
        msgid = app[appkeys.IDS].app_msgid()
        event = app_text(member.userid, text, now, msgid, app[appkeys.CONFIG].agent_id)
    except ActionError as error:
        return error_response(error)
    delivery_id = app[appkeys.SENDER].submit(event)
    app[appkeys.LOG].append(MemberAppText(msgid, member.userid, text, delivery_id))
    fragment = {"member": member.userid, "msgid": msgid, "text": text, "create_time": now}
    return json_response({"ok": True, "action": "member-app-say", "message": fragment, "delivery_ids": [delivery_id]})
