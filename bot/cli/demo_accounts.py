"""The demo's console accounts: made once on an empty `users` table, printed in the banner (never in production)."""

from __future__ import annotations

from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli.session import with_session
from bot.config.settings import Settings
from services.access import accounts, audit
from services.access.audit import Origin
from services.clock import SystemClock

DEMO_PASSWORD: Final = "qunke-demo"
# (login, role, WeCom userid in the sandbox's seeded corp, name). The manager is the demo's service.managers member
# (bot/cli/run.py's DEMO_SERVICE), so the alerts a manager gets and the console's replies and claims are one person's.
DEMO_ACCOUNTS: Final = (
    ("admin", "admin", None, "演示管理员"),
    ("manager", "manager", "zhaoliu", "赵六"),
    ("zhangsan", "rep", "zhangsan", "张三"),
)


def ensure_demo_accounts(settings: Settings) -> bool:
    """Add the demo accounts when there are no users yet; True when they were added now."""

    async def work(session: AsyncSession) -> bool:
        if await accounts.list_users(session):
            return False
        now = SystemClock().now()
        for login, role, userid, name in DEMO_ACCOUNTS:
            await accounts.add_user(session, now, login, role, DEMO_PASSWORD, name=name, wecom_userid=userid)
            await audit.record(session, now, Origin("cli:demo"), "user_add", login, {"role": role, "demo": True})
        return True

    return with_session(settings, work)


def banner_lines(bot_url: str) -> str:
    logins = "、".join(
        f"{login}（{role}{f'，{name}' if userid else ''}）" for login, role, userid, name in DEMO_ACCOUNTS
    )
    return f"  控制台 console:       {bot_url}/console/   账号 {logins}，密码 {DEMO_PASSWORD}\n"
