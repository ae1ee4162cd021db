"""Corp state rendered as WeCom's JSON shapes (qyapi) and as the admin API's state view."""

from __future__ import annotations

from datetime import datetime

from sandbox.model import ContactType, Corp, Customer, Follow, Group, GroupMember, GroupMemberType, Member, Tag

Json = dict[str, object]


def member_json(member: Member) -> Json:
    """user/get. Apps created after 2022-06 no longer see mobile, email or avatar, so none are returned."""
    return {
        "userid": member.userid,
        "name": member.name,
        "department": list(member.department),
        "order": [0 for _ in member.department],
        "position": member.position,
        "gender": str(member.gender),
        "alias": member.alias,
        "status": member.status,
        "isleader": 0,
        "is_leader_in_dept": [0 for _ in member.department],
        "enable": 1,
        "main_department": member.department[0],
    }


def external_contact_json(customer: Customer) -> Json:
    body: Json = {
        "external_userid": customer.external_userid,
        "name": customer.name,
        "avatar": customer.avatar,
        "type": int(customer.type),
        "gender": customer.gender,
    }
    # corp_name, corp_full_name and position exist only for WeCom users; unionid only when one is bound.
    if customer.type is ContactType.WECOM:
        body.update(position=customer.position, corp_name=customer.corp_name, corp_full_name=customer.corp_full_name)
    if customer.unionid:
        body["unionid"] = customer.unionid
    return body


def follow_user_json(corp: Corp, follow: Follow) -> Json:
    body: Json = {
        "userid": follow.userid,
        "remark": follow.remark,
        "description": follow.description,
        "createtime": follow.createtime,
        "tags": [tag_json(corp, tag_id) for tag_id in follow.tag_ids],
        "remark_mobiles": list(follow.remark_mobiles),
        "add_way": follow.add_way,
        "oper_userid": follow.oper_userid,
    }
    if follow.state:
        body["state"] = follow.state
    return body


def tag_json(corp: Corp, tag_id: str) -> Json:
    tag = corp.tags[tag_id]
    return {"group_name": tag.group_name, "tag_name": tag.name, "type": 1, "tag_id": tag.tag_id}


def group_member_json(corp: Corp, item: GroupMember, need_name: bool) -> Json:
    body: Json = {"userid": item.userid, "type": int(item.type), "join_time": item.join_time}
    customer = corp.customers.get(item.userid)
    if item.type is GroupMemberType.EXTERNAL and customer is not None and customer.unionid:
        body["unionid"] = customer.unionid
    body["join_scene"] = int(item.join_scene)
    # invitor is returned only when a member of this corp did the inviting.
    if item.invitor in corp.members:
        body["invitor"] = {"userid": item.invitor}
    body["group_nickname"] = item.group_nickname
    if need_name:
        body["name"] = corp.display_name(item.userid)
    return body


def group_chat_json(corp: Corp, group: Group, need_name: bool) -> Json:
    return {
        "chat_id": group.chat_id,
        "name": group.name,
        "owner": group.owner,
        "create_time": group.create_time,
        "notice": group.notice,
        "member_list": [group_member_json(corp, item, need_name) for item in group.members.values()],
        "admin_list": [{"userid": userid} for userid in group.admins],
        "member_version": group.member_version,
    }


def customer_state_json(corp: Corp, customer: Customer) -> Json:
    body = external_contact_json(customer)
    body["follows"] = [follow_user_json(corp, follow) for follow in customer.follows.values()]
    body["groups"] = [g.chat_id for g in corp.groups.values() if customer.external_userid in g.members]
    return body


def group_state_json(corp: Corp, group: Group) -> Json:
    body = group_chat_json(corp, group, need_name=True)
    body["status"] = group.status
    return body


def state_json(corp: Corp, agent_id: int, now: datetime) -> Json:
    """The admin view of everything, for `sandbox state --json` and the simulator page."""
    grouped: dict[str, list[Tag]] = {}
    for tag in corp.tags.values():
        grouped.setdefault(tag.group_id, []).append(tag)
    tag_groups = [
        {
            "group_id": group_id,
            "group_name": tags[0].group_name,
            "tags": [{"tag_id": tag.tag_id, "name": tag.name} for tag in tags],
        }
        for group_id, tags in grouped.items()
    ]
    return {
        "corp_id": corp.corp_id,
        "agent_id": agent_id,
        "now": now.isoformat(),
        "members": [member_json(member) for member in corp.members.values()],
        "tag_groups": tag_groups,
        "customers": [customer_state_json(corp, customer) for customer in corp.customers.values()],
        "groups": [group_state_json(corp, group) for group in corp.groups.values()],
    }
