"""`qunke demo` names a manager and an on-duty rep of the demo corp, without touching what a config names, and
binds its manager console account to that manager."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli.demo_accounts import ensure_demo_accounts
from bot.cli.run import with_demo_service
from bot.cli.session import with_session
from bot.config.platform import DatabaseSettings
from bot.config.service import ServiceSettings
from bot.config.settings import Settings
from services.access import accounts
from storage.migrate import upgrade


def test_the_demo_fills_in_the_demo_corps_manager_and_on_duty_rep_when_the_config_names_none() -> None:
    service = with_demo_service(Settings()).service
    assert (service.managers, service.on_duty) == (("zhaoliu",), ("wangwu",))


def test_the_demo_keeps_the_configured_people_when_the_config_names_them() -> None:
    configured = Settings().model_copy(update={"service": ServiceSettings(managers=("boss",))})
    service = with_demo_service(configured).service
    assert (service.managers, service.on_duty) == (("boss",), ("wangwu",))


def test_serve_defaults_stay_empty_when_not_running_the_demo() -> None:
    assert (Settings().service.managers, Settings().service.on_duty) == ((), ())


def test_the_demos_manager_account_is_the_demo_corps_manager_so_it_can_reply_from_the_console(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/demo.db"
    upgrade(url)
    settings = Settings(database=DatabaseSettings(url=url))
    assert ensure_demo_accounts(settings) is True
    assert ensure_demo_accounts(settings) is False  # a second start keeps the accounts as they are

    async def bound(session: AsyncSession) -> dict[str, str | None]:
        return {user.login: user.wecom_userid for user in await accounts.list_users(session)}

    logins = with_session(settings, bound)
    assert logins["manager"] in with_demo_service(settings).service.managers
    assert logins["zhangsan"] == "zhangsan" and logins["admin"] is None
