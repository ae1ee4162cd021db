"""How `qunke customer show` prints a profile: the header lines, the scores line and one page of the timeline."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from bot.cli.output import local
from services.customers.profiles import CustomerProfile

STATUS_TEXT = {"contact": "联系人", "lost": "已流失", "group_only": "未加好友"}
SIDE_TEXT = {"customer": "客户", "member": "员工", "bot": "机器人", "system": "系统"}
NPS_TEXT = {"promoter": "推荐者", "passive": "中立者", "detractor": "贬损者"}
console = Console()


def print_profile(p: CustomerProfile, zone: str) -> None:
    console.print(f"[bold]{escape(p.name or '(无昵称)')}[/bold]  ID {p.id}  {p.external_userid or ''}")
    console.print(
        f"负责人：{p.owner_name or '-'}   状态：{STATUS_TEXT.get(p.status, p.status)}   "
        f"首次出现：{local(p.first_seen_at, zone)}   成为联系人：{local(p.became_contact_at, zone)}"
        + (f"   流失：{local(p.lost_at, zone)}" if p.lost_at else "")
    )
    console.print(Text(_scores_line(p.scores)))
    if p.scores.get("churn_reasons"):
        console.print(Text("流失原因：" + "；".join(str(r) for r in p.scores["churn_reasons"])))
    if p.attributes:
        console.print(Text("属性：" + "，".join(f"{k}={v}" for k, v in p.attributes.items())))
    if p.opted_out:
        console.print("已退订营销消息")
    if p.oa_with_person:
        held = p.oa_with_person
        ticket = f"，工单 T{held['ticket_id']}" if held.get("ticket_id") else ""
        who = held.get("rep") or "、".join(held.get("alerted") or ()) or "无人"
        since = local(held["since"], zone)
        line = f"公众号人工服务中：自 {since} 起由 {who} 跟进{ticket}，其间客户发来 {held['messages']} 条消息"
        console.print(Text(line + "，机器人暂停自动回复"))
    if p.tags:
        console.print("标签：" + "、".join(f"{t['group']}/{t['tag']}" if t["group"] else t["tag"] for t in p.tags))
    if p.groups:
        console.print("所在群：" + "、".join(str(g["name"] or g["chat_id"]) for g in p.groups))
    if p.oa_openid:
        console.print(f"公众号 openid：{p.oa_openid}")
    if p.merged:
        console.print("已合并的档案：" + "、".join(f"{m['name'] or '(无昵称)'}（ID {m['id']}）" for m in p.merged))
    if p.requested_id is not None:
        console.print(f"[yellow]客户 {p.requested_id} 已合并到本档案（ID {p.id}）[/yellow]")
    title = (
        f"时间线：共 {p.timeline_total} 条，第 {p.timeline_page}/{max(p.timeline_pages, 1)} 页"
        f"（每页 {p.timeline_limit} 条，第 1 页最新，最新在最后）"
    )
    table = Table("时间", "方", "渠道 / 会话", "谁", "内容", title=title)
    for item in p.timeline:
        side = SIDE_TEXT.get(item.side, item.side)
        if item.kind == "message":
            # Customer text is untrusted: never let rich interpret it as markup.
            table.add_row(
                local(item.at, zone),
                side,
                Text(item.chat_name or ""),
                Text(item.sender_name or ""),
                Text(item.text, style="dim strike" if item.recalled else ""),
            )
        else:
            table.add_row(local(item.at, zone), side, "", "", Text(item.text, style="cyan"))
    console.print(table)
    if p.timeline_page < p.timeline_pages:
        console.print(f"更早的记录：qunke customer show {p.id} --page {p.timeline_page + 1}")


def _scores_line(scores: dict[str, Any]) -> str:
    csat = f"{scores['csat']}/5" if scores.get("csat") is not None else "-"
    nps = "-"
    if scores.get("nps") is not None:
        nps = f"{scores['nps']}/10（{NPS_TEXT.get(str(scores.get('nps_category')), '')}）"
    risk = scores.get("churn_risk")
    churn = "-" if risk is None else f"{risk:.0%}" + ("（预警）" if scores.get("churn_at_risk") else "")
    tier = scores.get("rfm_tier") or "-"
    return f"满意度 CSAT：{csat}   推荐意愿 NPS：{nps}   流失风险：{churn}   RFM：{tier}"
