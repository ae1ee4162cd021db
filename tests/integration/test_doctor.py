"""`qunke doctor` as an operator runs it: a separate process against a running sandbox and bot, or a broken setup."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import yaml

from tests.support.cli_process import clean_env, qunke
from tests.support.stack import ARCHIVE_SECRET, DEMO, Stack, archive_key_files


def _env(stack: Stack, tmp_path: Path, **extra: str) -> dict[str, str]:
    config = tmp_path / "config.yaml"
    port = int(stack.bot_url.rsplit(":", 1)[1])
    config.write_text(yaml.safe_dump({"server": {"host": "127.0.0.1", "port": port}}), encoding="utf-8")
    private, _ = archive_key_files()
    own = {
        "QUNKE_CONFIG": str(config),
        "QUNKE_DATABASE_URL": stack.database_url,
        "WECOM_API_BASE": stack.sandbox_url,
        "WECOM_CORP_ID": DEMO.corp_id,
        "WECOM_SECRET": DEMO.secret,
        "WECOM_TOKEN": DEMO.token,
        "WECOM_AES_KEY": DEMO.aes_key,
        "WECOM_ARCHIVE_SECRET": ARCHIVE_SECRET,
        "QUNKE_ARCHIVE_PRIVATE_KEYS": f"1={private}",
    }
    return clean_env(**{**own, **extra})


async def _doctor(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(qunke, "doctor", cwd=cwd, env=env)


def _line(output: str, topic: str) -> str:
    return next(line for line in output.splitlines() if f" {topic}：" in line)


async def test_doctor_says_ok_for_every_part_when_the_bot_and_sandbox_run(stack: Stack, tmp_path: Path) -> None:
    result = await _doctor(_env(stack, tmp_path), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    for topic in ("配置", "数据库", "企业微信凭据", "回调地址", "会话存档密钥", "调度器"):
        assert _line(result.stdout, topic).startswith("ok"), result.stdout
    assert "gettoken 成功" in _line(result.stdout, "企业微信凭据")
    assert "版本 1" in _line(result.stdout, "会话存档密钥")
    assert _line(result.stdout, "节假日数据").split()[0] in ("ok", "警告")
    assert "Traceback" not in result.stderr


async def test_doctor_fails_on_credentials_and_keys_when_they_are_wrong(stack: Stack, tmp_path: Path) -> None:
    bad_key = tmp_path / "not_a_key.pem"
    bad_key.write_text("not a key", encoding="utf-8")
    env = _env(stack, tmp_path, WECOM_SECRET="wrong-secret", QUNKE_ARCHIVE_PRIVATE_KEYS=f"2={bad_key}")
    result = await _doctor(env, tmp_path)
    assert result.returncode == 1
    assert _line(result.stdout, "企业微信凭据").startswith("错误") and "gettoken" in result.stdout
    assert _line(result.stdout, "会话存档密钥").startswith("错误") and "版本 2" in result.stdout
    assert _line(result.stdout, "数据库").startswith("ok")


async def test_doctor_warns_that_nothing_answers_when_the_bot_is_not_running(tmp_path: Path) -> None:
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "qunke.db").write_bytes(b"")  # an empty file: never migrated
    env = clean_env(QUNKE_CONFIG=str(tmp_path / "config.yaml"))
    (tmp_path / "config.yaml").write_text("server:\n  port: 1\n", encoding="utf-8")
    result = await _doctor(env, tmp_path)
    assert result.returncode == 1
    assert _line(result.stdout, "数据库").startswith("错误") and "qunke db upgrade" in result.stdout
    assert _line(result.stdout, "企业微信凭据").startswith("错误") and "WECOM_CORP_ID" in result.stdout
    assert _line(result.stdout, "回调地址").startswith("警告") and "qunke serve" in result.stdout
    assert _line(result.stdout, "调度器").startswith("警告")


async def test_doctor_prints_one_error_line_when_the_config_is_broken(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("server:\n  port: 8080\n  colour: blue\n", encoding="utf-8")
    result = await _doctor(clean_env(QUNKE_CONFIG=str(config)), tmp_path)
    assert result.returncode == 1
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("错误 配置：") and "colour" in lines[0]
    assert "Traceback" not in result.stderr
