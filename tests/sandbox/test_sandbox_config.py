"""SandboxConfig from the environment: demo defaults, typed values and errors that name the variable."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from sandbox.config import SandboxConfig, SandboxConfigError


def test_defaults_are_the_demo_corp_when_environment_is_empty() -> None:
    config = SandboxConfig.from_env({})
    # A served sandbox persists under ./var/ by default; a config built in code (the tests') keeps state in memory.
    assert config.state_file == Path("var/sandbox/state.json")
    assert replace(config, state_file=None) == SandboxConfig()
    assert config.groupchat_lag_s == 2.0
    assert config.corp_id == "ww5a1f0c9e2b7d4a31"
    assert config.agent_id == 1000002
    assert config.callback_url == "http://127.0.0.1:8080/wecom/callback"
    assert (config.retries, config.callback_timeout_s, config.token_ttl_s) == (3, 5.0, 7200)


def test_values_are_typed_when_environment_sets_them() -> None:
    config = SandboxConfig.from_env(
        {
            "WECOM_CORP_ID": "ww123",
            "WECOM_AGENT_ID": "1000009",
            "SANDBOX_SEED": "7",
            "SANDBOX_DUPLICATE_RATE": "0.5",
            "SANDBOX_LATE_MAX_S": "1.25",
            "SANDBOX_RETRIES": "5",
            "SANDBOX_LOG_FILE": "/tmp/sandbox.jsonl",
        }
    )
    assert (config.corp_id, config.agent_id, config.seed) == ("ww123", 1000009, 7)
    assert (config.duplicate_rate, config.late_max_s, config.retries) == (0.5, 1.25, 5)
    assert config.log_file == Path("/tmp/sandbox.jsonl")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SANDBOX_DUPLICATE_RATE", "1.5"),
        ("SANDBOX_LATE_RATE", "lots"),
        ("SANDBOX_RETRIES", "-1"),
        ("SANDBOX_CALLBACK_TIMEOUT_S", "0"),
        ("WECOM_AGENT_ID", "abc"),
        ("WECOM_AES_KEY", "too-short"),
        ("WECOM_TOKEN", "has spaces in it"),
        ("SANDBOX_CALLBACK_URL", "ftp://example"),
    ],
)
def test_error_names_the_variable_when_a_value_is_bad(name: str, value: str) -> None:
    with pytest.raises(SandboxConfigError, match=name):
        SandboxConfig.from_env({name: value})


def test_state_file_and_groupchat_lag_come_from_the_environment_when_set() -> None:
    config = SandboxConfig.from_env({"SANDBOX_STATE_FILE": "/tmp/corp.json", "SANDBOX_GROUPCHAT_LAG_S": "0"})
    assert (config.state_file, config.groupchat_lag_s) == (Path("/tmp/corp.json"), 0.0)
