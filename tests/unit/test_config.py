"""Settings: config.yaml plus environment, frozen, with clear messages for every mistake."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.config.base import ConfigError
from bot.config.settings import load_settings

REPO_CONFIG = Path(__file__).resolve().parents[2] / "config.yaml"


def test_repo_config_loads_with_documented_defaults_when_environment_is_empty() -> None:
    settings = load_settings(REPO_CONFIG, {})
    assert settings.database.url == "sqlite+aiosqlite:///./var/qunke.db"
    assert settings.server.port == 8080 and settings.timezone == "Asia/Shanghai"
    assert settings.wecom.api_base == "https://qyapi.weixin.qq.com"


def test_environment_overrides_database_and_api_base_when_set() -> None:
    env = {"QUNKE_DATABASE_URL": "postgresql+asyncpg://u@h/db", "WECOM_API_BASE": "http://127.0.0.1:8081"}
    settings = load_settings(REPO_CONFIG, env)
    assert settings.database.url == env["QUNKE_DATABASE_URL"]
    assert settings.wecom.api_base == "http://127.0.0.1:8081"


def test_settings_are_frozen_when_code_tries_to_change_them() -> None:
    settings = load_settings(REPO_CONFIG, {})
    with pytest.raises(ValidationError):
        settings.server.port = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("webhok:\n  max_body_bytes: 1\n", "webhok: unknown key"),
        ("server:\n  port: lots\n", "server.port: Input should be a valid integer"),
        ("server:\n  port: 70000\n", "server.port: Input should be less than or equal to 65535"),
        ("timezone: Mars/Olympus\n", "timezone: Value error, expected an IANA time zone"),
        ("- just\n- a list\n", "expected a mapping at the top level"),
        ("server: [\n", "not valid YAML"),
        ("wecom:\n  secret: hunter2\n", "secrets belong in the environment (WECOM_SECRET)"),
        ("service:\n  tick_s: 0\n", "service.tick_s: Input should be greater than or equal to 1 (got 0)"),
        ("service:\n  tick_s: -5\n", "service.tick_s: Input should be greater than or equal to 1 (got -5)"),
        ("service:\n  tick_s: .inf\n", "service.tick_s: Input should be a finite number"),
        ("tickets:\n  close_interval_s: -1\n", "tickets.close_interval_s: Input should be greater than or equal to 1"),
        ('churn:\n  run_at: "25:99"\n', "churn.run_at: Value error, expected HH:MM, e.g. 03:30 (got '25:99')"),
        ("surveys:\n  job_interval_s: abc\n", "surveys.job_interval_s: Input should be a valid number"),
        ("archive:\n  poll_interval_s: .nan\n", "archive.poll_interval_s: Input should be a finite number"),
        ("faq:\n  oa_handoff_release_hours: 0\n", "faq.oa_handoff_release_hours: Input should be greater than 0"),
        ("faq:\n  oa_handoff_release_hours: soon\n", "faq.oa_handoff_release_hours: Input should be a valid number"),
        ("faq:\n  oa_handoff_release_hours: 1000\n", "faq.oa_handoff_release_hours: Input should be less than or"),
    ],
)
def test_bad_config_names_the_key_and_expectation_when_file_is_wrong(
    tmp_path: Path, yaml_text: str, message: str
) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(yaml_text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_settings(path, {})
    assert message in str(err.value)


def test_bad_secret_is_named_but_never_echoed_when_aes_key_is_malformed() -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(REPO_CONFIG, {"WECOM_AES_KEY": "tooshort-secret-value"})
    assert "WECOM_AES_KEY" in str(err.value) and "43 characters" in str(err.value)
    assert "tooshort-secret-value" not in str(err.value)


def test_missing_config_file_is_an_error_when_qunke_config_points_at_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(None, {"QUNKE_CONFIG": str(tmp_path / "nope.yaml")})


def test_require_wecom_lists_every_missing_secret_when_none_are_set() -> None:
    with pytest.raises(ConfigError, match="WECOM_CORP_ID, WECOM_SECRET, WECOM_TOKEN, WECOM_AES_KEY"):
        load_settings(REPO_CONFIG, {}).require_wecom()
