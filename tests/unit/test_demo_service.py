"""`qunke demo` names a manager and an on-duty rep of the demo corp, without touching what a config names."""

from __future__ import annotations

from bot.cli.run import with_demo_service
from bot.config.service import ServiceSettings
from bot.config.settings import Settings


def test_the_demo_fills_in_the_demo_corps_manager_and_on_duty_rep_when_the_config_names_none() -> None:
    service = with_demo_service(Settings()).service
    assert (service.managers, service.on_duty) == (("zhaoliu",), ("wangwu",))


def test_the_demo_keeps_the_configured_people_when_the_config_names_them() -> None:
    configured = Settings().model_copy(update={"service": ServiceSettings(managers=("boss",))})
    service = with_demo_service(configured).service
    assert (service.managers, service.on_duty) == (("boss",), ("wangwu",))


def test_serve_defaults_stay_empty_when_not_running_the_demo() -> None:
    assert (Settings().service.managers, Settings().service.on_duty) == ((), ())
