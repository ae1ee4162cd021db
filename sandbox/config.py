"""Sandbox settings: the demo corp's credentials, where to call back, and how much chaos to inject."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, TypeVar

from sandbox.archive.crypto import load_archive_public_key

DEFAULT_CORP_ID: Final = "ww5a1f0c9e2b7d4a31"
DEFAULT_SECRET: Final = "qunke-demo-secret-0f3c9a7e5b"
DEFAULT_AGENT_ID: Final = 1000002
DEFAULT_TOKEN: Final = "QunkeDemoToken2026"
DEFAULT_AES_KEY: Final = "yQu5ggX7NX1xmsAPW0EbgYJB67kkb5lfSee7YPbtkyQ"
DEFAULT_CALLBACK_URL: Final = "http://127.0.0.1:8080/wecom/callback"
# Relative to the working directory, like the bot's ./var/ (a real corp never forgets).
DEFAULT_STATE_FILE: Final = "var/sandbox/state.json"

# WeCom's own rules for the two callback settings (WECOM.md §1.1).
_AES_KEY_RE: Final = re.compile(r"^[A-Za-z0-9]{43}$")
_TOKEN_RE: Final = re.compile(r"^[A-Za-z0-9]{1,32}$")

T = TypeVar("T")


class SandboxConfigError(ValueError):
    """A bad setting, phrased for the operator: which variable, what was expected."""


@dataclass(frozen=True, slots=True)
class SandboxConfig:
    corp_id: str = DEFAULT_CORP_ID
    secret: str = DEFAULT_SECRET
    agent_id: int = DEFAULT_AGENT_ID
    token: str = DEFAULT_TOKEN
    aes_key: str = DEFAULT_AES_KEY
    callback_url: str = DEFAULT_CALLBACK_URL
    seed: int = 2026
    duplicate_rate: float = 0.1
    late_rate: float = 0.2
    late_max_s: float = 2.5
    callback_timeout_s: float = 5.0
    retry_interval_s: float = 2.0
    retries: int = 3
    token_ttl_s: int = 7200
    log_file: Path | None = None
    # Chat archive and Official Account settings; the classes are defined at the end of this module.
    archive: ArchiveConfig = field(default_factory=lambda: ArchiveConfig())
    oa: OAConfig = field(default_factory=lambda: OAConfig())
    # Sending, quotas and faults (docs/SANDBOX.md). The account cap sets message/send's daily budget (x 200).
    account_cap: int = 200
    # Mass messages a customer or group may receive per calendar month; None means "days in the month".
    mass_cap: int | None = None
    # Seconds after add_msg_template until members confirm on their own; None leaves tasks to confirm-task.
    task_auto_confirm_s: float | None = None
    # Seconds a new mass task stays "being dispatched" (41063) before its results can be read or confirmed.
    task_dispatch_s: float = 2.0
    api_limit_per_min: int = 10_000
    api_limit_per_hour: int = 150_000
    read_concurrency: int = 10
    # Where the corp's state persists across restarts (None: kept in memory only, as the tests' in-process apps).
    state_file: Path | None = None
    # How long groupchat/get keeps answering a group's previous snapshot after a membership change (WeCom's ~2 s).
    groupchat_lag_s: float = 2.0

    def __post_init__(self) -> None:
        _check(bool(self.corp_id), "WECOM_CORP_ID", "a non-empty corp id")
        _check(bool(self.secret), "WECOM_SECRET", "a non-empty secret")
        _check(self.agent_id > 0, "WECOM_AGENT_ID", "a positive integer")
        _check(bool(_TOKEN_RE.match(self.token)), "WECOM_TOKEN", "1-32 letters or digits")
        _check(bool(_AES_KEY_RE.match(self.aes_key)), "WECOM_AES_KEY", "43 characters from [A-Za-z0-9]")
        _check(
            self.callback_url.startswith(("http://", "https://")),
            "SANDBOX_CALLBACK_URL",
            "an http:// or https:// URL",
        )
        for name, rate in (
            ("SANDBOX_DUPLICATE_RATE", self.duplicate_rate),
            ("SANDBOX_LATE_RATE", self.late_rate),
        ):
            _check(0.0 <= rate <= 1.0, name, "a number between 0 and 1")
        _check(self.late_max_s >= 0, "SANDBOX_LATE_MAX_S", "a number of seconds >= 0")
        _check(self.callback_timeout_s > 0, "SANDBOX_CALLBACK_TIMEOUT_S", "a number of seconds > 0")
        _check(self.retry_interval_s >= 0, "SANDBOX_RETRY_INTERVAL_S", "a number of seconds >= 0")
        _check(self.retries >= 0, "SANDBOX_RETRIES", "an integer >= 0")
        _check(self.token_ttl_s > 0, "SANDBOX_TOKEN_TTL_S", "an integer number of seconds > 0")
        _check(self.groupchat_lag_s >= 0, "SANDBOX_GROUPCHAT_LAG_S", "a number of seconds >= 0")
        self._check_send_settings()

    def _check_send_settings(self) -> None:
        _check(self.account_cap > 0, "SANDBOX_ACCOUNT_CAP", "an integer > 0")
        _check(self.mass_cap is None or self.mass_cap > 0, "SANDBOX_MASS_CAP", "days_in_month or an integer > 0")
        auto = self.task_auto_confirm_s
        _check(auto is None or auto >= 0, "SANDBOX_TASK_AUTO_CONFIRM_S", "a number of seconds >= 0, or off")
        _check(self.task_dispatch_s >= 0, "SANDBOX_TASK_DISPATCH_S", "a number of seconds >= 0")
        _check(self.api_limit_per_min > 0, "SANDBOX_API_LIMIT_PER_MIN", "an integer > 0")
        _check(self.api_limit_per_hour > 0, "SANDBOX_API_LIMIT_PER_HOUR", "an integer > 0")
        _check(self.read_concurrency > 0, "SANDBOX_READ_CONCURRENCY", "an integer > 0")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SandboxConfig:
        """Read every setting from the environment; unset variables keep the demo defaults."""
        source = os.environ if env is None else env
        reader = _EnvReader(source)
        log_file = source.get("SANDBOX_LOG_FILE", "").strip()
        return cls(
            corp_id=reader.text("WECOM_CORP_ID", DEFAULT_CORP_ID),
            secret=reader.text("WECOM_SECRET", DEFAULT_SECRET),
            agent_id=reader.number("WECOM_AGENT_ID", DEFAULT_AGENT_ID, int, "an integer"),
            token=reader.text("WECOM_TOKEN", DEFAULT_TOKEN),
            aes_key=reader.text("WECOM_AES_KEY", DEFAULT_AES_KEY),
            callback_url=reader.text("SANDBOX_CALLBACK_URL", DEFAULT_CALLBACK_URL),
            seed=reader.number("SANDBOX_SEED", 2026, int, "an integer"),
            duplicate_rate=reader.number("SANDBOX_DUPLICATE_RATE", 0.1, float, "a number between 0 and 1"),
            late_rate=reader.number("SANDBOX_LATE_RATE", 0.2, float, "a number between 0 and 1"),
            late_max_s=reader.number("SANDBOX_LATE_MAX_S", 2.5, float, "a number of seconds"),
            callback_timeout_s=reader.number("SANDBOX_CALLBACK_TIMEOUT_S", 5.0, float, "a number of seconds"),
            retry_interval_s=reader.number("SANDBOX_RETRY_INTERVAL_S", 2.0, float, "a number of seconds"),
            retries=reader.number("SANDBOX_RETRIES", 3, int, "an integer"),
            token_ttl_s=reader.number("SANDBOX_TOKEN_TTL_S", 7200, int, "an integer number of seconds"),
            log_file=Path(log_file) if log_file else None,
            archive=ArchiveConfig.from_env(source),
            oa=OAConfig.from_env(source),
            account_cap=reader.number("SANDBOX_ACCOUNT_CAP", 200, int, "an integer"),
            mass_cap=reader.number("SANDBOX_MASS_CAP", None, _mass_cap, "days_in_month or an integer"),
            task_auto_confirm_s=reader.number("SANDBOX_TASK_AUTO_CONFIRM_S", None, _seconds_or_off, "seconds or off"),
            task_dispatch_s=reader.number("SANDBOX_TASK_DISPATCH_S", 2.0, float, "a number of seconds"),
            api_limit_per_min=reader.number("SANDBOX_API_LIMIT_PER_MIN", 10_000, int, "an integer"),
            api_limit_per_hour=reader.number("SANDBOX_API_LIMIT_PER_HOUR", 150_000, int, "an integer"),
            read_concurrency=reader.number("SANDBOX_READ_CONCURRENCY", 10, int, "an integer"),
            state_file=Path(reader.text("SANDBOX_STATE_FILE", DEFAULT_STATE_FILE)),
            groupchat_lag_s=reader.number("SANDBOX_GROUPCHAT_LAG_S", 2.0, float, "a number of seconds"),
        )


class _EnvReader:
    """Typed access to environment variables with errors that name the variable."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def text(self, name: str, default: str) -> str:
        value = self._env.get(name, "").strip()
        return value or default

    def number(self, name: str, default: T, parse: Callable[[str], T], expected: str) -> T:
        raw = self._env.get(name, "").strip()
        if not raw:
            return default
        try:
            return parse(raw)
        except ValueError:
            raise SandboxConfigError(f"{name}={raw!r} is not valid: expected {expected}") from None


def _check(ok: bool, name: str, expected: str) -> None:
    if not ok:
        raise SandboxConfigError(f"{name} is not valid: expected {expected}")


DEFAULT_ARCHIVE_SECRET: Final = "qunke-demo-archive-secret-7c41e2"
DEFAULT_ARCHIVE_NOTIFY_INTERVAL_S: Final = 15.0
DEFAULT_OA_APP_ID: Final = "wx02304e4415763465"
DEFAULT_OA_SECRET: Final = "693aff69f6b338c60e356b87d1550ef5"
DEFAULT_OA_TOKEN: Final = "QunkeOaToken2026"
DEFAULT_OA_AES_KEY: Final = "phyq3rkcKo3g0RipSy64LW7cKB2FM0SHtxygVJbqfiB"
DEFAULT_OA_ORIGINAL_ID: Final = "gh_9b7ca04be186"
DEFAULT_OA_CALLBACK_URL: Final = "http://127.0.0.1:8080/wechat/callback"

# The Official Account platform's shapes: AppID wx+16 hex, AppSecret 32 hex, Token 3-32 letters or digits,
# original id gh_+12 hex (what the platform shows; UNCONFIRMED beyond observed ids, so the sandbox insists on it).
_OA_APP_ID_RE: Final = re.compile(r"^wx[0-9a-f]{16}$")
_OA_SECRET_RE: Final = re.compile(r"^[0-9a-f]{32}$")
_OA_TOKEN_RE: Final = re.compile(r"^[A-Za-z0-9]{3,32}$")
_OA_ORIGINAL_ID_RE: Final = re.compile(r"^gh_[0-9a-f]{12}$")


@dataclass(frozen=True, slots=True)
class ArchiveConfig:
    """会话内容存档: off until a public key is configured; the bot holds the matching private key."""

    # The PEM text, read from the file SANDBOX_ARCHIVE_PUBLIC_KEY names when the settings are loaded.
    public_key_pem: bytes | None = None
    key_version: int = 1
    secret: str = DEFAULT_ARCHIVE_SECRET
    notify_interval_s: float = DEFAULT_ARCHIVE_NOTIFY_INTERVAL_S

    def __post_init__(self) -> None:
        _check(bool(self.secret), "WECOM_ARCHIVE_SECRET", "a non-empty secret")
        _check(self.key_version >= 1, "SANDBOX_ARCHIVE_KEY_VERSION", "an integer >= 1")
        _check(self.notify_interval_s >= 0, "SANDBOX_ARCHIVE_NOTIFY_INTERVAL_S", "a number of seconds >= 0")
        if self.public_key_pem is not None:
            try:
                load_archive_public_key(self.public_key_pem)
            except ValueError as error:
                raise SandboxConfigError(f"SANDBOX_ARCHIVE_PUBLIC_KEY is not valid: {error}") from None

    @property
    def enabled(self) -> bool:
        return self.public_key_pem is not None

    @classmethod
    def from_env(cls, source: Mapping[str, str]) -> ArchiveConfig:
        reader = _EnvReader(source)
        path = source.get("SANDBOX_ARCHIVE_PUBLIC_KEY", "").strip()
        return cls(
            public_key_pem=_read_key_file(path) if path else None,
            key_version=reader.number("SANDBOX_ARCHIVE_KEY_VERSION", 1, int, "an integer"),
            secret=reader.text("WECOM_ARCHIVE_SECRET", DEFAULT_ARCHIVE_SECRET),
            notify_interval_s=reader.number(
                "SANDBOX_ARCHIVE_NOTIFY_INTERVAL_S", DEFAULT_ARCHIVE_NOTIFY_INTERVAL_S, float, "a number of seconds"
            ),
        )


@dataclass(frozen=True, slots=True)
class OAConfig:
    """The Official Account (公众号) the simulated followers talk to, and where its callbacks go."""

    app_id: str = DEFAULT_OA_APP_ID
    secret: str = DEFAULT_OA_SECRET
    token: str = DEFAULT_OA_TOKEN
    aes_key: str = DEFAULT_OA_AES_KEY
    original_id: str = DEFAULT_OA_ORIGINAL_ID
    callback_url: str = DEFAULT_OA_CALLBACK_URL

    def __post_init__(self) -> None:
        _check(bool(_OA_APP_ID_RE.match(self.app_id)), "WECHAT_OA_APPID", "wx followed by 16 hex digits")
        _check(bool(_OA_SECRET_RE.match(self.secret)), "WECHAT_OA_SECRET", "32 hex digits")
        _check(bool(_OA_TOKEN_RE.match(self.token)), "WECHAT_OA_TOKEN", "3-32 letters or digits")
        _check(bool(_AES_KEY_RE.match(self.aes_key)), "WECHAT_OA_AES_KEY", "43 characters from [A-Za-z0-9]")
        _check(bool(_OA_ORIGINAL_ID_RE.match(self.original_id)), "WECHAT_OA_ORIGINAL_ID", "gh_ and 12 hex digits")
        _check(
            self.callback_url.startswith(("http://", "https://")),
            "SANDBOX_OA_CALLBACK_URL",
            "an http:// or https:// URL",
        )

    @classmethod
    def from_env(cls, source: Mapping[str, str]) -> OAConfig:
        reader = _EnvReader(source)
        return cls(
            app_id=reader.text("WECHAT_OA_APPID", DEFAULT_OA_APP_ID),
            secret=reader.text("WECHAT_OA_SECRET", DEFAULT_OA_SECRET),
            token=reader.text("WECHAT_OA_TOKEN", DEFAULT_OA_TOKEN),
            aes_key=reader.text("WECHAT_OA_AES_KEY", DEFAULT_OA_AES_KEY),
            original_id=reader.text("WECHAT_OA_ORIGINAL_ID", DEFAULT_OA_ORIGINAL_ID),
            callback_url=reader.text("SANDBOX_OA_CALLBACK_URL", DEFAULT_OA_CALLBACK_URL),
        )


def _read_key_file(path: str) -> bytes:
    """Settings are loaded once by the CLI before the server starts, so a plain read is fine here."""
    try:
        return Path(path).read_bytes()
    except OSError as error:
        raise SandboxConfigError(
            f"SANDBOX_ARCHIVE_PUBLIC_KEY={path!r} cannot be read: {error.strerror or error}"
        ) from None


def _mass_cap(raw: str) -> int | None:
    """ "days_in_month" (WeCom's current rule) or a fixed number per month, e.g. 4 for older corps."""
    return None if raw == "days_in_month" else int(raw)


def _seconds_or_off(raw: str) -> float | None:
    return None if raw.lower() == "off" else float(raw)
