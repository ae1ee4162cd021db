"""The demo corp's two kf accounts and their servicers (接待人员)."""

from __future__ import annotations

from typing import Final

from sandbox.ids import IdFactory
from sandbox.kf.model import KfAccount, KfStore, ServicerStatus
from sandbox.model import Corp

R, STOP = ServicerStatus.RECEIVING, ServicerStatus.STOPPED

# (name, servicers). lisi has stopped receiving on 售后服务, so handing a session to him is refused (95014).
ACCOUNTS: Final = (
    ("群客官方客服", (("wangwu", R), ("zhaoliu", R))),
    ("售后服务", (("wangwu", R), ("lisi", STOP))),
)


def build_kf_store(corp: Corp, ids: IdFactory) -> KfStore:
    """Drawn after the corp itself, so adding kf left every earlier demo id unchanged."""
    store = KfStore()
    for name, servicers in ACCOUNTS:
        account = KfAccount(ids.open_kfid(), name, ids.avatar())
        for userid, status in servicers:
            corp.member(userid)
            account.servicers[userid] = status
        store.accounts[account.open_kfid] = account
    return store
