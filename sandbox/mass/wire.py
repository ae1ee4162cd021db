"""Mass tasks rendered as WeCom's JSON (get_groupmsg_*) and as the admin view (/sandbox/tasks, state)."""

from __future__ import annotations

from sandbox.mass.model import ChatType, MassTask, MemberPart, Target, TargetStatus
from sandbox.model import Corp
from sandbox.wire import Json


def group_msg_json(task: MassTask) -> Json:
    """A get_groupmsg_list_v2 item. "creator … API接口创建的群发消息不返回该字段" [D:93338], so it is left out."""
    body: Json = {"msgid": task.msgid, "create_time": task.created_at, "create_type": 0}
    if task.text:
        body["text"] = {"content": task.text}
    if task.attachments:
        body["attachments"] = task.attachments
    return body


def task_item_json(part: MemberPart) -> Json:
    """A get_groupmsg_task item; send_time only once sent."""
    body: Json = {"userid": part.userid, "status": int(part.status)}
    if part.send_time is not None:
        body["send_time"] = part.send_time
    return body


def send_item_json(task: MassTask, part: MemberPart, target: Target) -> Json:
    """A get_groupmsg_send_result item: external_userid for customers, chat_id for groups, never both."""
    body: Json = {}
    if task.chat_type is ChatType.SINGLE:
        body["external_userid"] = target.external_userid
    else:
        body["chat_id"] = target.chat_id
    body["userid"] = part.userid
    body["status"] = int(target.status)
    if target.status is TargetStatus.SENT and target.send_time is not None:
        body["send_time"] = target.send_time
    return body


def send_items(task: MassTask, part: MemberPart) -> list[Json]:
    """A member's results. For groups only sent rows appear: "若为客户群群发…只返回已发送记录" [D:93338].

    UNCONFIRMED whether a group skipped as over the limit is listed; the sandbox lists sent groups only.
    """
    targets = part.targets
    if task.chat_type is ChatType.GROUP:
        targets = [target for target in targets if target.status is TargetStatus.SENT]
    return [send_item_json(task, part, target) for target in targets]


def _target_state(corp: Corp, target: Target) -> Json:
    if target.chat_id:
        group = corp.groups.get(target.chat_id)
        name = group.name if group is not None else target.chat_id
    else:
        name = corp.display_name(target.external_userid)
    return {
        "external_userid": target.external_userid,
        "chat_id": target.chat_id,
        "name": name,
        "status": int(target.status),
        "send_time": target.send_time,
    }


def task_state_json(corp: Corp, task: MassTask, now: int, dispatch_s: float) -> Json:
    """Everything about one task, for the simulator and `sandbox tasks`; `pending` lists who may confirm now."""
    dispatched = task.dispatched(now, dispatch_s)
    return {
        "msgid": task.msgid,
        "chat_type": task.chat_type.value,
        "sender": task.sender,
        "create_time": task.created_at,
        "text": task.text,
        "attachments": task.attachments,
        "allow_select": task.allow_select,
        "fail_list": task.fail_list,
        "cancelled": task.cancelled,
        "dispatched": dispatched,
        "reminds": list(task.reminds),
        "parts": [
            {
                "userid": part.userid,
                "name": corp.display_name(part.userid),
                "status": int(part.status),
                "send_time": part.send_time,
                "cancelled": part.cancelled,
                "can_confirm": dispatched and part.pending,
                "targets": [_target_state(corp, target) for target in part.targets],
            }
            for part in task.parts.values()
        ],
    }
