"""The mass-message engine: tasks wait for their members to confirm, then deliver under the monthly cap."""

from __future__ import annotations

import secrets
import string
from typing import Final

from sandbox.clock import Clock
from sandbox.config import SandboxConfig
from sandbox.delivery.log import DeliveryLog
from sandbox.delivery.send_records import MassMessage, MassMessageSkipped, MassTaskEvent
from sandbox.mass.create import MassRequest, assign_targets
from sandbox.mass.model import ChatType, MassTask, MemberPart, MonthlyCap, PartStatus, Target, TargetStatus
from sandbox.model import ActionError, Corp
from sandbox.qyapi.reply import QyapiError
from sandbox.state.codec import from_plain, to_plain

REMINDS_PER_DAY: Final = 3
DAY_S: Final = 86_400
_ALNUM: Final = string.ascii_letters + string.digits


def _new_msgid() -> str:
    # The shape of WeCom's sample ids, "msgGCAAAXtWyujaWJHDDGi0mACAAAA".
    return "msg" + "".join(secrets.choice(_ALNUM) for _ in range(27))


class MassEngine:
    def __init__(self, corp: Corp, log: DeliveryLog, clock: Clock, config: SandboxConfig) -> None:
        self._corp = corp
        self._log = log
        self._clock = clock
        self.dispatch_s = config.task_dispatch_s
        self.auto_confirm_s = config.task_auto_confirm_s
        self.cap = MonthlyCap(config.mass_cap)
        # Per-rep behaviour (sandbox/mass_reps.py): seconds until the rep confirms, or None for a rep who never does.
        self.rep_delays: dict[str, float | None] = {}
        self._tasks: dict[str, MassTask] = {}
        # Tasks that still have an unconfirmed, uncancelled part: the only ones auto-confirm has to look at.
        self._pending: dict[str, MassTask] = {}

    def snapshot(self) -> dict[str, object]:
        return {"tasks": to_plain(self._tasks), "received": to_plain(self.cap.received_counts)}

    def restore(self, data: dict[str, object]) -> None:
        self._tasks = from_plain(dict[str, MassTask], data["tasks"])
        self._pending = {msgid: task for msgid, task in self._tasks.items() if task.pending}
        self.cap.received_counts = from_plain(dict[tuple[str, str], int], data["received"])

    def tasks(self) -> list[MassTask]:
        return list(self._tasks.values())

    def create(self, request: MassRequest) -> MassTask:
        parts, failed = assign_targets(self._corp, request)
        if not parts:
            raise QyapiError(41048)
        now = self._clock.epoch()
        task = MassTask(
            msgid=_new_msgid(),
            seq=len(self._tasks) + 1,
            chat_type=request.chat_type,
            sender=request.sender,
            created_at=now,
            text=request.text,
            attachments=request.attachments,
            allow_select=request.allow_select,
            parts={userid: MemberPart(userid, targets) for userid, targets in parts.items()},
            fail_list=failed,
        )
        self._tasks[task.msgid] = task
        self._pending[task.msgid] = task
        targets = sum(len(part.targets) for part in task.parts.values())
        event = MassTaskEvent(task.msgid, "created", request.sender, len(task.parts), targets, len(failed))
        self._log.append(event)
        self.catch_up()
        return task

    def task(self, msgid: str) -> MassTask:
        """41046 without a msgid, 41047 for one this corp never issued."""
        if not msgid:
            raise QyapiError(41046)
        task = self._tasks.get(msgid)
        if task is None:
            raise QyapiError(41047)
        return task

    def dispatched_task(self, msgid: str) -> MassTask:
        """A task whose results can be read: right after creation WeCom answers 41063 for a while [D:90313]."""
        return self._dispatched(self.task(msgid))

    def _dispatched(self, task: MassTask) -> MassTask:
        if not task.dispatched(self._clock.epoch(), self.dispatch_s):
            raise QyapiError(41063)
        return task

    def confirm(self, msgid: str, userid: str) -> MemberPart:
        """The member taps 发送 in the client: their part goes out now, target by target."""
        task = self._tasks.get(msgid)
        if task is None:
            raise ActionError(404, "unknown_task", f"未找到群发任务 {msgid}", f"unknown mass task {msgid}")
        part = task.parts.get(userid)
        if part is None:
            self._corp.member(userid)
            raise ActionError(404, "not_in_task", f"{userid} 没有这条群发任务", f"{userid} has no part in {msgid}")
        if part.cancelled:
            raise ActionError(409, "task_cancelled", "群发任务已停止", "the mass task was cancelled")
        if part.status is PartStatus.SENT:
            raise ActionError(409, "already_sent", "该成员已经发送过了", "this member has already sent it")
        if not task.dispatched(self._clock.epoch(), self.dispatch_s):
            raise ActionError(409, "dispatching", "群发任务正在派发中，请稍后再试", "the task is being dispatched")
        self._send_part(task, part)
        return part

    def cancel(self, msgid: str) -> MassTask:
        """cancel_groupmsg_send: parts not yet sent are stopped; what was sent stays sent."""
        task = self._live_task(msgid)
        pending = [part for part in task.parts.values() if part.pending]
        if not pending:
            # UNCONFIRMED which code WeCom gives once every member has sent; the sandbox refuses with 40058.
            raise QyapiError(40058, "invalid Request Parameter: msgid has been sent and cannot be cancelled")
        task.cancelled = True
        self._pending.pop(msgid, None)
        for part in pending:
            part.cancelled = True
            for target in part.targets:
                self._skip(task, part.userid, target, "cancelled")
        self._log.append(MassTaskEvent(msgid, "cancelled", members=len(pending)))
        return task

    def remind(self, msgid: str) -> MassTask:
        """remind_groupmsg_send: at most 3 times per task in any 24 h, then 41094 "群发提醒超过频率限制"."""
        task = self._live_task(msgid)
        now = self._clock.epoch()
        recent = [at for at in task.reminds if at > now - DAY_S]
        if len(recent) >= REMINDS_PER_DAY:
            raise QyapiError(41094)
        task.reminds = [*recent, now]
        waiting = sum(part.pending for part in task.parts.values())
        self._log.append(MassTaskEvent(msgid, "reminded", members=waiting))
        return task

    def catch_up(self) -> int:
        """Confirm every part whose auto-confirm time has come (the rep's own delay first, else the corp's); returns
        how many parts went out. A rep set to never confirm is left for a person to confirm by hand."""
        if self.auto_confirm_s is None and not self.rep_delays:
            return 0
        now = self._clock.epoch()
        sent = 0
        for task in list(self._pending.values()):
            for part in task.parts.values():
                wait = self.rep_delays.get(part.userid, self.auto_confirm_s)
                if wait is None or not part.pending or now < task.created_at + max(wait, self.dispatch_s):
                    continue
                self._send_part(task, part)
                sent += 1
        return sent

    def _live_task(self, msgid: str) -> MassTask:
        task = self.task(msgid)
        if task.cancelled:
            raise QyapiError(41093)
        return self._dispatched(task)

    def _send_part(self, task: MassTask, part: MemberPart) -> None:
        now = self._clock.epoch()
        for target in part.targets:
            reason = self._unreachable(task, part.userid, target)
            if reason is not None:
                target.status = TargetStatus.NOT_FRIEND
                self._skip(task, part.userid, target, reason)
            elif not self.cap.take(target.target_id, now):
                target.status = TargetStatus.OVER_LIMIT
                self._skip(task, part.userid, target, "over_limit")
            else:
                target.status, target.send_time = TargetStatus.SENT, now
                self._log.append(
                    MassMessage(
                        task.msgid,
                        part.userid,
                        task.chat_type.value,
                        target.external_userid,
                        target.chat_id,
                        task.text,
                        len(task.attachments),
                    )
                )
        part.status, part.send_time = PartStatus.SENT, now
        if not task.pending:
            self._pending.pop(task.msgid, None)
        delivered = sum(target.status is TargetStatus.SENT for target in part.targets)
        skipped = len(part.targets) - delivered
        self._log.append(MassTaskEvent(task.msgid, "confirmed", part.userid, sent=delivered, skipped=skipped))

    def _unreachable(self, task: MassTask, userid: str, target: Target) -> str | None:
        """Why a target can no longer be reached by this member, checked at send time."""
        if task.chat_type is ChatType.GROUP:
            group = self._corp.groups.get(target.chat_id)
            return None if group is not None and group.owner == userid else "group_unavailable"
        customer = self._corp.customers.get(target.external_userid)
        return None if customer is not None and userid in customer.follows else "not_a_friend"

    def _skip(self, task: MassTask, userid: str, target: Target, reason: str) -> None:
        skipped = MassMessageSkipped(
            task.msgid, userid, task.chat_type.value, target.external_userid, target.chat_id, reason
        )
        self._log.append(skipped)
