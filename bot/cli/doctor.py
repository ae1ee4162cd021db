"""`qunke doctor`: one line per part of a deployment (ok / 警告 / 错误) and what to do; exit 1 on any error."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from bot.cli import doctor_checks as checks
from bot.cli.doctor_checks import Finding, Level
from bot.config.base import ConfigError
from bot.config.settings import config_path_from_env, load_settings


def doctor(
    bot: Annotated[
        str | None, typer.Option("--bot-url", help="运行中的机器人地址，默认 server.host:server.port (the running bot)")
    ] = None,
) -> None:
    """检查部署：配置、数据库、企业微信凭据、回调地址、会话存档密钥、节假日数据、调度器 (check this deployment)"""
    findings = asyncio.run(_examine(bot))
    for finding in findings:
        colour = {Level.OK: typer.colors.GREEN, Level.WARNING: typer.colors.YELLOW}.get(finding.level, typer.colors.RED)
        typer.secho(finding.line(), fg=colour)
    if any(f.level is Level.ERROR for f in findings):
        raise typer.Exit(1)


async def _examine(bot_url: str | None) -> list[Finding]:
    path = config_path_from_env()
    try:
        settings = load_settings()
    except ConfigError as exc:
        problems = "；".join(line.strip() for line in str(exc).strip().splitlines() if line.strip())
        # Everything else reads the config, so nothing else can be checked yet.
        return [Finding(Level.ERROR, "配置", f"{problems}：修正后重新运行 `qunke doctor`")]
    findings = [
        Finding(Level.OK, "配置", f"{path if path.exists() else '默认配置（无 config.yaml）'} 已加载并通过校验")
    ]
    findings.append(await checks.database(settings))
    findings.append(await checks.wecom_credentials(settings))
    running, health = await checks.running_bot(settings, bot_url)
    findings.append(running)
    findings.append(checks.archive_keys(settings))
    findings.append(checks.holidays(settings))
    findings.extend(checks.scheduler(health))
    return findings
