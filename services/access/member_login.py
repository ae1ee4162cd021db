"""Logging in a WeCom member (web login): the console account bound to the member's userid, if there is one."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.access.accounts import LoginProblem, LoginResult
from storage.models.console import User


async def login_member(session: AsyncSession, userid: str) -> LoginResult:
    """The enabled account bound to `userid` (the oldest, if an admin bound several); WRONG when none is bound,
    DISABLED when every bound account is disabled."""
    found = list(await session.scalars(select(User).where(User.wecom_userid == userid).order_by(User.id)))
    enabled = [user for user in found if not user.disabled]
    if enabled:
        return LoginResult(enabled[0])
    return LoginResult(None, LoginProblem.DISABLED if found else LoginProblem.WRONG)
