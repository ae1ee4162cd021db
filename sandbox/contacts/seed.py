"""The deterministic demo corp: four reps, a dozen WeChat customers, corp tags and three customer groups."""

from __future__ import annotations

from typing import Final

from sandbox.ids import IdFactory
from sandbox.model import (
    ContactType,
    Corp,
    Customer,
    Follow,
    Group,
    GroupMember,
    GroupMemberType,
    JoinScene,
    Member,
    Tag,
)

DAY: Final = 86_400

MEMBERS: Final = (
    ("zhangsan", "张三", "销售", 2, 1),
    ("lisi", "李四", "销售", 2, 2),
    ("wangwu", "王五", "客服", 3, 1),
    ("zhaoliu", "赵六", "社群经理", 4, 2),
)

TAG_GROUPS: Final = (
    ("客户等级", ("VIP", "普通")),
    ("客户来源", ("线下活动", "朋友推荐", "直播间")),
    ("购买意向", ("高意向", "观望")),
)

# (key, name, gender, has unionid, follows: (rep, remark, tags, days ago, state)).
CUSTOMERS: Final = (
    ("deer", "小鹿乱撞🦌", 2, True, (("zhangsan", "小鹿-训练营学员", ("VIP", "直播间"), 40, "live0901"),
                                     ("lisi", "", ("普通",), 12, ""))),
    ("lemon", "Lemon柠檬", 2, False, (("zhangsan", "柠檬 杭州", ("普通",), 33, ""),)),
    ("jie", "阿杰", 1, False, (("lisi", "阿杰(老客户)", ("VIP", "朋友推荐"), 90, ""),)),
    ("mom", "王姐(宝妈)", 2, True, (("lisi", "王姐 二宝妈妈", ("VIP",), 60, ""),
                                   ("wangwu", "", (), 20, ""))),
    ("sunflower", "🌻向日葵", 2, False, (("zhangsan", "", ("观望",), 5, "qr_store_01"),)),
    ("liu", "大刘", 1, False, (("wangwu", "大刘-售后咨询", ("普通",), 15, ""),)),
    ("kevin", "Kevin", 1, True, (("zhaoliu", "Kevin 体验官", ("高意向",), 8, ""),)),
    ("bloom", "静待花开", 2, False, (("zhangsan", "花开 上海", ("普通", "线下活动"), 25, ""),
                                    ("zhaoliu", "", (), 10, ""))),
    ("snail", "奔跑的蜗牛🐌", 1, False, (("lisi", "", (), 3, ""),)),
    ("candy", "糖糖🍬", 2, False, ()),
    ("zhou", "老周", 1, True, ()),
    ("sunny", "晴天☀️", 0, False, ()),
)  # fmt: skip

# (name, owner, admins, days ago, notice, customer keys, extra members).
GROUPS: Final = (
    ("2026秋季训练营1群", "zhangsan", ("zhaoliu",), 30, "欢迎加入训练营！每周三晚8点直播答疑，请勿发广告。",
     ("deer", "lemon", "sunflower", "bloom"), ("zhaoliu",)),
    ("会员福利群", "lisi", (), 80, "会员专属福利每周五发布，记得查看群公告哦～",
     ("jie", "mom", "snail", "zhou"), ("wangwu",)),
    ("新品体验官", "zhangsan", (), 9, "", ("deer", "kevin", "chen"), ()),
)  # fmt: skip


def build_demo_corp(corp_id: str, ids: IdFactory, now: int) -> Corp:
    """The same corp for the same seed; times are relative to `now` so the demo always looks recent."""
    corp = Corp(corp_id)
    for userid, name, position, department, gender in MEMBERS:
        corp.members[userid] = Member(userid, name, position, [department], gender)
    created = now - 120 * DAY
    for group_index, (group_name, tag_names) in enumerate(TAG_GROUPS):
        group_id = ids.tag_id()
        for tag_index, tag_name in enumerate(tag_names):
            order, group_order = len(tag_names) - tag_index, len(TAG_GROUPS) - group_index
            tag = Tag(ids.tag_id(), tag_name, group_id, group_name, created, order, group_order)
            corp.tags[tag.tag_id] = tag
    keys = _seed_customers(corp, ids, now)
    _seed_groups(corp, ids, now, keys)
    return corp


def _seed_customers(corp: Corp, ids: IdFactory, now: int) -> dict[str, str]:
    keys: dict[str, str] = {}
    for key, name, gender, has_unionid, follows in CUSTOMERS:
        customer = Customer(ids.external_userid(), name, gender, ids.avatar())
        if has_unionid:
            customer.unionid = ids.unionid()
        for rep, remark, tags, days_ago, state in follows:
            customer.follows[rep] = Follow(
                userid=rep,
                createtime=now - days_ago * DAY,
                add_way=1,
                oper_userid=customer.external_userid,
                state=state,
                remark=remark,
                tag_ids=[corp.tag(tag).tag_id for tag in tags],
            )
        corp.customers[customer.external_userid] = customer
        keys[key] = customer.external_userid
    # A WeCom user from another company: the contact type that carries corp_name and position.
    chen = Customer(ids.external_userid(), "陈经理", 1, ids.avatar(), ContactType.WECOM)
    chen.corp_name, chen.corp_full_name, chen.position = "星河科技", "杭州星河科技有限公司", "采购经理"
    chen.follows["zhangsan"] = Follow("zhangsan", now - 18 * DAY, 2, "zhangsan", remark="陈经理-星河采购")
    corp.customers[chen.external_userid] = chen
    keys["chen"] = chen.external_userid
    return keys


def _seed_groups(corp: Corp, ids: IdFactory, now: int, keys: dict[str, str]) -> None:
    for name, owner, admins, days_ago, notice, customer_keys, extra in GROUPS:
        created = now - days_ago * DAY
        group = Group(ids.chat_id(), name, owner, created, ids.member_version(), corp.take_group_seq(), notice)
        group.admins = list(admins)
        for userid in (owner, *extra):
            group.members[userid] = GroupMember(userid, GroupMemberType.MEMBER, created, JoinScene.DIRECT_INVITE)
        for offset, key in enumerate(customer_keys, start=1):
            scene = JoinScene.QR_CODE if offset % 2 else JoinScene.DIRECT_INVITE
            invitor = "" if scene is JoinScene.QR_CODE else owner
            joined = created + offset * 3600
            external = keys[key]
            group.members[external] = GroupMember(external, GroupMemberType.EXTERNAL, joined, scene, invitor)
        corp.groups[group.chat_id] = group
