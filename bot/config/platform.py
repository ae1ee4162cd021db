"""Settings of the process and its platforms: server, database, WeCom, Official Account, archive, ingest, console."""

from __future__ import annotations

import re
from datetime import time
from pathlib import Path
from typing import Final, Literal

from pydantic import Field, field_validator

from bot.config.base import ConfigError, Section, check_aes_key, clock_time
from bot.event_loop import EventLoopChoice

REAL_WECOM_API_BASE: Final = "https://qyapi.weixin.qq.com"
REAL_WECHAT_API_BASE: Final = "https://api.weixin.qq.com"


class ServerSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    malloc_trim_interval_s: float = Field(default=10.0, ge=0)  # give freed heap pages back (bot/memory_trim.py); 0: off
    event_loop: EventLoopChoice = "auto"  # bot/event_loop.py: auto is uvloop where installed


class DatabaseSettings(Section):
    url: str = "sqlite+aiosqlite:///./var/qunke.db"
    echo: bool = False
    min_free_mb: int = Field(default=64, ge=0)  # SQLite: below this much free space /healthz says not writable


class WeComSettings(Section):
    api_base: str = REAL_WECOM_API_BASE
    request_timeout_s: float = Field(default=10.0, gt=0)
    corp_id: str | None = None
    agent_id: int | None = None
    secret: str | None = None
    token: str | None = None
    aes_key: str | None = None

    _aes_key_shape = field_validator("aes_key")(check_aes_key)

    @field_validator("token")
    @classmethod
    def _token_shape(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Za-z0-9]{1,32}", value):
            raise ValueError("expected 1 to 32 letters or digits")
        return value


class OfficialAccountSettings(Section):
    """The WeChat Official Account (公众号) channel; off unless its app id is set (WECHAT_OA_*)."""

    api_base: str = REAL_WECHAT_API_BASE
    request_timeout_s: float = Field(default=10.0, gt=0)
    app_id: str | None = None
    secret: str | None = None
    token: str | None = None
    aes_key: str | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.app_id)

    _aes_key_shape = field_validator("aes_key")(check_aes_key)


class ArchiveSettings(Section):
    """The chat archive (会话内容存档): on when its secret and at least one private key are in the environment."""

    # "sandbox" reads the local sandbox over HTTP (at wecom.api_base); "finance_sdk" loads Tencent's native SDK.
    source: Literal["sandbox", "finance_sdk"] = "sandbox"
    sdk_library: str = ""
    sdk_proxy: str = ""
    sdk_timeout_s: int = Field(default=10, ge=1, le=60)
    # msgaudit_notify triggers a pull; this timer pulls anyway, in case a notify is lost.
    poll_interval_s: float = Field(default=60.0, gt=0)
    batch_limit: int = Field(default=1000, ge=1, le=1000)
    decrypt_threads: int = Field(default=2, ge=1, le=32)
    secret: str | None = None
    # "VERSION=PATH[,VERSION=PATH...]": the RSA private key of each publickey_ver set in the admin console.
    private_keys: str | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.secret and self.private_keys)

    def key_paths(self) -> dict[int, Path]:
        """Parse `private_keys`; a malformed entry names itself and what was expected."""
        paths: dict[int, Path] = {}
        for entry in (self.private_keys or "").split(","):
            if not entry.strip():
                continue
            version, sep, path = entry.partition("=")
            if not sep or not version.strip().isdigit() or not path.strip():
                raise ConfigError(
                    f"environment QUNKE_ARCHIVE_PRIVATE_KEYS: entry {entry.strip()!r} is not VERSION=PATH "
                    "(e.g. 1=/etc/qunke/archive_v1.pem)"
                )
            file = Path(path.strip())
            if not file.is_file():
                raise ConfigError(f"environment QUNKE_ARCHIVE_PRIVATE_KEYS: key version {version}: no file at {file}")
            paths[int(version)] = file
        return paths


class WebhookSettings(Section):
    max_body_bytes: int = Field(default=65536, ge=1024)
    batch_max_rows: int = Field(default=256, ge=1)
    # WeCom, kf and the OA wait 5 s for an answer; a commit slower than this is answered 503 and retried.
    ack_timeout_s: float = Field(default=3.0, gt=0, le=5)


class IngestSettings(Section):
    batch_size: int = Field(default=50, ge=1)
    # Claim loops per process on PostgreSQL (bot/ingest/worker.py); SQLite always runs one.
    concurrency: int = Field(default=1, ge=1, le=64)
    poll_interval_s: float = Field(default=1.0, gt=0)
    max_attempts: int = Field(default=8, ge=1)
    backoff_base_s: float = Field(default=2.0, gt=0)
    backoff_max_s: float = Field(default=600.0, gt=0)
    # Re-read every customer group at start-up, so a freshly connected corp has its groups and customers.
    sync_groups_on_start: bool = True
    # Import every member's contacts at start-up (batch/get_by_user), resuming an unfinished import.
    import_contacts_on_start: bool = True
    contact_import_retry_s: float = Field(default=60.0, gt=0)


class ConsoleSettings(Section):
    """The web console (DESIGN.md §12)."""

    enabled: bool = True
    idle_timeout_min: int = Field(default=120, ge=1, le=7 * 24 * 60)
    # Believe X-Forwarded-Proto/-For (Secure cookies, client IPs) only when a reverse proxy in front sets them.
    trust_proxy: bool = False


class PrivacySettings(Section):
    """Data retention (DESIGN.md §7, services/privacy/retention.py): a daily purge of messages older than N days."""

    retention_days: int = Field(default=0, ge=0, le=36_500)  # 0: off, everything is kept
    run_at: time = time(4, 15)  # "HH:MM" in `timezone`, daily
    batch_size: int = Field(default=1000, ge=1, le=50_000)  # rows per transaction

    _times = field_validator("run_at", mode="before")(clock_time)
