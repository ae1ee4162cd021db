"""The checks behind `qunke doctor`: each looks at one thing and says ok, 警告 or 错误, and what to do."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

import aiohttp
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.config.base import ConfigError
from bot.config.settings import Settings
from bot.policies import service_rules
from storage.db import create_db_engine
from storage.migrate import current_head

TIMEOUT: Final = aiohttp.ClientTimeout(total=10)


class Level(StrEnum):
    OK = "ok"
    WARNING = "警告"
    ERROR = "错误"


@dataclass(frozen=True, slots=True)
class Finding:
    level: Level
    topic: str
    text: str

    def line(self) -> str:
        # "ok" padded to the four columns "警告" and "错误" take, so the topics line up.
        return f"{'ok  ' if self.level is Level.OK else self.level.value} {self.topic}：{self.text}"


def _one_line(error: BaseException) -> str:
    words = str(error).strip().splitlines()
    return (words[0] if words else type(error).__name__)[:200]


def safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


async def database(settings: Settings) -> Finding:
    url = settings.database.url
    try:
        parsed = make_url(url)
    except Exception as exc:
        return Finding(Level.ERROR, "数据库", f"URL 无法解析（{_one_line(exc)}）：检查 QUNKE_DATABASE_URL")
    sqlite_file = parsed.database if parsed.get_backend_name() == "sqlite" and parsed.database != ":memory:" else None
    if sqlite_file and not await asyncio.to_thread(Path(sqlite_file).exists):
        return Finding(Level.ERROR, "数据库", f"{sqlite_file} 不存在：运行 `qunke db upgrade` 创建")
    engine = create_db_engine(url)
    try:
        async with asyncio.timeout(10), engine.connect() as conn:
            try:
                version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar_one_or_none()
            except Exception:
                version = None
    except Exception as exc:
        return Finding(Level.ERROR, "数据库", f"无法连接 {safe_url(url)}（{_one_line(exc)}）：检查地址与服务是否运行")
    finally:
        await engine.dispose()
    head = current_head()
    if version != head:
        return Finding(Level.ERROR, "数据库", f"结构版本为 {version or '空'}，应为 {head}：运行 `qunke db upgrade`")
    return Finding(Level.OK, "数据库", f"{safe_url(url)} 可连接，结构为最新 ({head})")


async def wecom_credentials(settings: Settings) -> Finding:
    wecom = settings.wecom
    if not wecom.corp_id or not wecom.secret:
        return Finding(
            Level.ERROR, "企业微信凭据", "WECOM_CORP_ID 或 WECOM_SECRET 未设置：填入自建应用的企业 ID 与 Secret"
        )
    url = f"{wecom.api_base.rstrip('/')}/cgi-bin/gettoken"
    try:
        async with (
            aiohttp.ClientSession(timeout=TIMEOUT) as http,
            http.get(url, params={"corpid": wecom.corp_id, "corpsecret": wecom.secret}) as resp,
        ):
            body = await resp.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        return Finding(Level.ERROR, "企业微信凭据", f"无法访问 {url}（{_one_line(exc)}）：检查网络或 WECOM_API_BASE")
    code = body.get("errcode") if isinstance(body, dict) else None
    if code == 0 and body.get("access_token"):
        return Finding(Level.OK, "企业微信凭据", f"gettoken 成功 ({wecom.api_base})")
    message = body.get("errmsg", "") if isinstance(body, dict) else str(body)[:100]
    todo = (
        CREDENTIAL_HINTS.get(code, "检查 WECOM_CORP_ID 与 WECOM_SECRET")
        if isinstance(code, int)
        else "检查 WECOM_API_BASE"
    )
    return Finding(Level.ERROR, "企业微信凭据", f"gettoken 被拒绝（{code} {str(message)[:80]}）：{todo}")


# What to do for the errcodes gettoken answers most (WeCom's global error codes).
CREDENTIAL_HINTS: Final = {
    40013: "WECOM_CORP_ID 不对：在管理后台「我的企业」复制企业 ID",
    40001: "WECOM_SECRET 不对：在自建应用详情页查看 Secret（多次错误会让本机 IP 被封 1 小时）",
    60020: "本机 IP 不在应用的「企业可信IP」里：在自建应用详情页添加",
}


def bot_url(settings: Settings) -> str:
    host = settings.server.host
    return f"http://{'127.0.0.1' if host in ('0.0.0.0', '::', '') else host}:{settings.server.port}"


async def running_bot(settings: Settings, base: str | None = None) -> tuple[Finding, dict[str, Any] | None]:
    """The callback URL from this machine: the bot's /healthz at the configured host and port (or `base`)."""
    base = (base or bot_url(settings)).rstrip("/")
    url = f"{base}/healthz"
    try:
        async with aiohttp.ClientSession(timeout=TIMEOUT) as http, http.get(url) as resp:
            body = await resp.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError):
        return Finding(Level.WARNING, "回调地址", f"{url} 无应答：运行 `qunke serve`（企业微信的回调要有人接）"), None
    if not isinstance(body, dict) or "status" not in body:
        return Finding(Level.ERROR, "回调地址", f"{url} 上不是群客：检查 server.port 或换一个端口"), None
    where = f"{base}/wecom/callback"
    return Finding(Level.OK, "回调地址", f"{where} 可访问；企业微信后台的回调 URL 应经反向代理指向它"), body


def _archive_key_problem(version: int, path: Path) -> str | None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except PermissionError:
        return f"版本 {version} 的私钥 {path} 不可读：检查文件权限（运行 qunke 的用户要能读）"
    except (ValueError, TypeError) as exc:
        return f"版本 {version} 的 {path} 不是可用的 PEM 私钥（{_one_line(exc)}）"
    if not isinstance(key, rsa.RSAPrivateKey):
        return f"版本 {version} 的 {path} 不是 RSA 私钥"
    return _public_key_mismatch(version, key)


def _public_key_mismatch(version: int, key: Any) -> str | None:
    """With a local sandbox (the demo), the public key it encrypts with must belong to the same version's key."""
    public_path, public_version = (
        os.environ.get("SANDBOX_ARCHIVE_PUBLIC_KEY"),
        os.environ.get("SANDBOX_ARCHIVE_KEY_VERSION"),
    )
    if not public_path or (public_version or "1") != str(version) or not Path(public_path).is_file():
        return None
    from cryptography.hazmat.primitives import serialization

    public = serialization.load_pem_public_key(Path(public_path).read_bytes())
    if public.public_numbers() != key.public_key().public_numbers():  # type: ignore[union-attr]
        return f"版本 {version} 的私钥与沙箱的公钥 {public_path} 不是一对：重新生成密钥对"
    return None


def archive_keys(settings: Settings) -> Finding:
    archive = settings.archive
    if not archive.secret and not archive.private_keys:
        return Finding(Level.OK, "会话存档密钥", "会话存档未启用（不读取群聊与单聊消息）")
    if not archive.secret or not archive.private_keys:
        missing = "WECOM_ARCHIVE_SECRET" if not archive.secret else "QUNKE_ARCHIVE_PRIVATE_KEYS"
        return Finding(Level.WARNING, "会话存档密钥", f"{missing} 未设置：两者都设置才会读取会话存档")
    try:
        paths = archive.key_paths()
    except ConfigError as exc:
        return Finding(Level.ERROR, "会话存档密钥", _one_line(exc))
    for version, path in sorted(paths.items()):
        if (problem := _archive_key_problem(version, path)) is not None:
            return Finding(Level.ERROR, "会话存档密钥", problem)
    versions = "、".join(str(v) for v in sorted(paths))
    return Finding(Level.OK, "会话存档密钥", f"版本 {versions} 的 RSA 私钥可读；须与企业微信后台的 publickey_ver 一致")


def holidays(settings: Settings) -> Finding:
    calendar = service_rules(settings).calendar
    year = datetime.now(ZoneInfo(settings.timezone)).year
    missing = calendar.uncovered_years((year, year + 1))
    if missing:
        years = "、".join(str(y) for y in missing)
        return Finding(
            Level.WARNING,
            "节假日数据",
            f"没有 {years} 年的法定节假日安排：升级 chinese-calendar，或在 service.holidays 写上当年安排",
        )
    return Finding(Level.OK, "节假日数据", f"{year} 与 {year + 1} 年的节假日与调休都有数据")


def scheduler(health: dict[str, Any] | None) -> list[Finding]:
    """The scheduler and its jobs as the running `serve` reports them in /healthz."""
    if health is None:
        return [Finding(Level.WARNING, "调度器", "机器人未运行，无法检查定时任务：启动 `qunke serve` 后再运行 doctor")]
    state = health.get("scheduler")
    if not isinstance(state, dict):
        return [Finding(Level.WARNING, "调度器", "/healthz 没有调度器信息：机器人版本较旧，升级后再检查")]
    if not state.get("running"):
        return [
            Finding(Level.ERROR, "调度器", "没有运行：SLA、自动关闭、满意度与流失任务都不会执行；查看 serve 的日志")
        ]
    listed = state.get("jobs")
    jobs: dict[str, Any] = listed if isinstance(listed, dict) else {}
    found = []
    for name, job in sorted(jobs.items()):
        if isinstance(job, dict) and job.get("last_error"):
            found.append(
                Finding(Level.ERROR, "调度器", f"任务 {name} 上次失败：{job['last_error']}；查看 serve 的日志")
            )
        elif isinstance(job, dict) and not job.get("next_run"):
            found.append(Finding(Level.WARNING, "调度器", f"任务 {name} 没有下次运行时间：重启 `qunke serve`"))
    workers = health.get("background_tasks")
    if workers == 0:
        found.append(Finding(Level.ERROR, "后台任务", "没有后台任务在运行（收件、发送都停了）：重启 `qunke serve`"))
    if found:
        return found
    return [Finding(Level.OK, "调度器", f"运行中，{len(jobs)} 个定时任务正常，后台任务 {workers} 个")]
