"""Console accounts: argon2id passwords, database sessions with an idle timeout, and the login throttle."""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.access.viewer import Viewer
from storage.models.console import Role, User, UserSession

_HASHER = PasswordHasher()  # argon2id with the library's current recommended parameters
LOGIN_PATTERN = re.compile(r"^[A-Za-z0-9_.@-]{2,64}$")
MIN_PASSWORD = 8
# Only refresh last_seen_at this often: a page with several htmx requests should not write on each one.
TOUCH_EVERY = timedelta(seconds=30)


class AccountError(Exception):
    """A refused account change, phrased for the operator in Chinese."""


class LoginProblem(StrEnum):
    WRONG = "wrong"  # unknown login or wrong password: the same answer for both
    DISABLED = "disabled"
    LOCKED = "locked"


@dataclass(frozen=True, slots=True)
class LoginResult:
    user: User | None
    problem: LoginProblem | None = None


async def hash_password(password: str) -> str:
    # argon2 is deliberately slow; keep it off the event loop.
    return await asyncio.to_thread(_HASHER.hash, password)


async def verify_password(stored: str, password: str) -> bool:
    if not stored:
        return False
    try:
        return await asyncio.to_thread(_HASHER.verify, stored, password)
    except (VerificationError, InvalidHashError):
        return False


def check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"密码至少需要 {MIN_PASSWORD} 个字符")


async def add_user(
    session: AsyncSession,
    now: datetime,
    login: str,
    role: str,
    password: str,
    *,
    name: str = "",
    wecom_userid: str | None = None,
) -> User:
    if not LOGIN_PATTERN.match(login):
        raise AccountError(f"登录名「{login}」无效：只能用 2-64 个字母、数字或 _ . @ -")
    if role not in {r.value for r in Role}:
        raise AccountError(f"角色「{role}」无效：应为 admin、manager 或 rep")
    if role == Role.REP and not wecom_userid:
        raise AccountError("销售（rep）账号必须用 --userid 绑定一个企业微信成员")
    check_new_password(password)
    if await user_by_login(session, login) is not None:
        raise AccountError(f"登录名「{login}」已存在")
    user = User(
        login=login,
        name=name or login,
        role=role,
        wecom_userid=wecom_userid or None,
        password_hash=await hash_password(password),
        disabled=False,
        created_at=now,
        updated_at=now,
    )
    session.add(user)
    await session.flush()
    return user


async def user_by_login(session: AsyncSession, login: str) -> User | None:
    return (await session.execute(select(User).where(User.login == login))).scalar_one_or_none()


async def user_by_id(session: AsyncSession, user_id: int) -> User | None:
    return await session.get(User, user_id)


async def list_users(session: AsyncSession) -> list[User]:
    return list((await session.execute(select(User).order_by(User.id))).scalars())


async def set_disabled(session: AsyncSession, now: datetime, login: str, disabled: bool) -> User:
    user = await user_by_login(session, login)
    if user is None:
        raise AccountError(f"没有登录名为「{login}」的用户")
    user.disabled = disabled
    user.updated_at = now
    if disabled:
        await revoke_all(session, now, user.id)
    return user


async def set_password(session: AsyncSession, now: datetime, login: str, password: str) -> User:
    check_new_password(password)
    user = await user_by_login(session, login)
    if user is None:
        raise AccountError(f"没有登录名为「{login}」的用户")
    user.password_hash = await hash_password(password)
    user.updated_at = now
    await revoke_all(session, now, user.id)  # a new password ends every old session
    return user


def viewer_of(user: User) -> Viewer:
    return Viewer(
        user_id=user.id, login=user.login, role=Role(user.role), wecom_userid=user.wecom_userid, name=user.name
    )


# ---- sessions ---------------------------------------------------------------------------------------------------


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def open_session(session: AsyncSession, now: datetime, user: User, ip: str, user_agent: str) -> tuple[str, str]:
    """A new login: returns (cookie token, CSRF token); only the token's hash is stored."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    session.add(
        UserSession(
            token_hash=_digest(token),
            user_id=user.id,
            csrf_token=csrf,
            created_at=now,
            last_seen_at=now,
            ip=ip[:64],
            user_agent=user_agent[:256],
        )
    )
    user.last_login_at = now
    return token, csrf


async def resume(session: AsyncSession, now: datetime, token: str, idle: timedelta) -> tuple[User, UserSession] | None:
    """The live session behind a cookie, or None when unknown, revoked, idle too long or its user disabled."""
    row = await session.get(UserSession, _digest(token))
    if row is None or row.revoked_at is not None:
        return None
    if now - row.last_seen_at > idle:
        row.revoked_at = now
        return None
    user = await session.get(User, row.user_id)
    if user is None or user.disabled:
        return None
    if now - row.last_seen_at > TOUCH_EVERY:
        row.last_seen_at = now
    return user, row


async def close_session(session: AsyncSession, now: datetime, token: str) -> None:
    row = await session.get(UserSession, _digest(token))
    if row is not None and row.revoked_at is None:
        row.revoked_at = now


async def revoke_all(session: AsyncSession, now: datetime, user_id: int) -> int:
    """Logout everywhere: every live session of the user ends."""
    result = await session.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)


# ---- login ------------------------------------------------------------------------------------------------------


class LoginThrottle:
    """`max_failures` wrong passwords for one login within `window` lock that login for `lock_for`.

    In memory on purpose: it guards one process against guessing; a restart forgetting it is acceptable.
    """

    def __init__(
        self,
        max_failures: int = 20,
        window: timedelta = timedelta(minutes=1),
        lock_for: timedelta = timedelta(minutes=15),
    ) -> None:
        self.max_failures, self.window, self.lock_for = max_failures, window, lock_for
        self._failures: dict[str, deque[datetime]] = {}
        self._locked_until: dict[str, datetime] = {}

    def locked(self, login: str, now: datetime) -> bool:
        until = self._locked_until.get(login)
        if until is None:
            return False
        if now >= until:
            del self._locked_until[login]
            return False
        return True

    def failed(self, login: str, now: datetime) -> bool:
        """Count a wrong password; True when this one locked the login."""
        recent = self._failures.setdefault(login, deque())
        recent.append(now)
        while recent and now - recent[0] > self.window:
            recent.popleft()
        if len(recent) >= self.max_failures:
            self._locked_until[login] = now + self.lock_for
            recent.clear()
            return True
        return False

    def succeeded(self, login: str) -> None:
        self._failures.pop(login, None)


async def authenticate(
    session: AsyncSession, now: datetime, login: str, password: str, throttle: LoginThrottle
) -> LoginResult:
    if throttle.locked(login, now):
        return LoginResult(None, LoginProblem.LOCKED)
    user = await user_by_login(session, login)
    if user is None or not await verify_password(user.password_hash, password):
        if throttle.failed(login, now):
            return LoginResult(None, LoginProblem.LOCKED)
        return LoginResult(None, LoginProblem.WRONG)
    if user.disabled:
        return LoginResult(None, LoginProblem.DISABLED)
    throttle.succeeded(login)
    return LoginResult(user)
