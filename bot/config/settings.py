"""`Settings`, the root of every section, and `load_settings`: config.yaml plus the environment, parsed once."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.config.base import ConfigError, Section
from bot.config.faq import FaqEmbedderSettings, FaqSettings
from bot.config.growth import (
    CampaignSettings,
    ChurnSettings,
    ChurnWeights,
    FollowupSettings,
    QuietHours,
    RfmSettings,
)
from bot.config.platform import (
    ArchiveSettings,
    ConsoleSettings,
    DatabaseSettings,
    IngestSettings,
    OfficialAccountSettings,
    PrivacySettings,
    ServerSettings,
    WebhookSettings,
    WeComSettings,
)
from bot.config.sender import SenderSettings
from bot.config.service import (
    BreakSettings,
    BusinessHoursSettings,
    HolidaySettings,
    ServiceSettings,
    SlaMatchSettings,
    SlaPolicySettings,
    SurveyKinds,
    SurveySettings,
    TicketSettings,
)

# The section classes are re-exported: code written before the split (other branches, replayed with the
# re-lay map bot.config -> bot.config.settings) imports them from here. New code imports their own module.
__all__ = [
    "ArchiveSettings",
    "BreakSettings",
    "BusinessHoursSettings",
    "CampaignSettings",
    "ChurnSettings",
    "ChurnWeights",
    "ConfigError",
    "ConsoleSettings",
    "DatabaseSettings",
    "FaqEmbedderSettings",
    "FaqSettings",
    "FollowupSettings",
    "HolidaySettings",
    "IngestSettings",
    "OfficialAccountSettings",
    "QuietHours",
    "RfmSettings",
    "SenderSettings",
    "ServerSettings",
    "ServiceSettings",
    "Settings",
    "SlaMatchSettings",
    "SlaPolicySettings",
    "SurveyKinds",
    "SurveySettings",
    "TicketSettings",
    "WeComSettings",
    "WebhookSettings",
    "config_path_from_env",
    "load_settings",
]

DEFAULT_CONFIG_PATH: Final = "./config.yaml"


class Settings(Section):
    timezone: str = "Asia/Shanghai"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("expected an IANA time zone such as Asia/Shanghai") from None
        return value

    server: ServerSettings = ServerSettings()
    database: DatabaseSettings = DatabaseSettings()
    wecom: WeComSettings = WeComSettings()
    officialaccount: OfficialAccountSettings = OfficialAccountSettings()
    archive: ArchiveSettings = ArchiveSettings()
    webhook: WebhookSettings = WebhookSettings()
    ingest: IngestSettings = IngestSettings()
    sender: SenderSettings = SenderSettings()
    service: ServiceSettings = ServiceSettings()
    tickets: TicketSettings = TicketSettings()
    surveys: SurveySettings = SurveySettings()
    churn: ChurnSettings = ChurnSettings()
    faq: FaqSettings = FaqSettings()
    rfm: RfmSettings = RfmSettings()
    campaigns: CampaignSettings = CampaignSettings()
    followups: FollowupSettings = FollowupSettings()
    console: ConsoleSettings = ConsoleSettings()
    privacy: PrivacySettings = PrivacySettings()

    def require_wecom(self) -> WeComSettings:
        """Fail with the names of the missing secrets when the bot is about to talk to WeCom."""
        missing = [
            env
            for env, value in (
                ("WECOM_CORP_ID", self.wecom.corp_id),
                ("WECOM_SECRET", self.wecom.secret),
                ("WECOM_TOKEN", self.wecom.token),
                ("WECOM_AES_KEY", self.wecom.aes_key),
            )
            if not value
        ]
        if missing:
            raise ConfigError(f"missing environment variable(s): {', '.join(missing)} (WeCom app credentials)")
        return self.wecom

    def require_officialaccount(self) -> OfficialAccountSettings:
        """The OA channel is optional, but once its app id is set every OA secret must be too."""
        oa = self.officialaccount
        missing = [
            env
            for env, value in (
                ("WECHAT_OA_SECRET", oa.secret),
                ("WECHAT_OA_TOKEN", oa.token),
                ("WECHAT_OA_AES_KEY", oa.aes_key),
            )
            if not value
        ]
        if missing:
            raise ConfigError(f"missing environment variable(s): {', '.join(missing)} (WeChat Official Account)")
        return oa


class _Environment(BaseSettings):
    """The environment variables Qunke reads (DESIGN.md §5); secrets live only here."""

    model_config = SettingsConfigDict(extra="ignore", case_sensitive=True)

    QUNKE_DATABASE_URL: str | None = None
    WECOM_API_BASE: str | None = None
    WECOM_CORP_ID: str | None = None
    WECOM_AGENT_ID: str | None = None
    WECOM_SECRET: str | None = None
    WECOM_TOKEN: str | None = None
    WECOM_AES_KEY: str | None = None
    WECOM_ARCHIVE_SECRET: str | None = None
    QUNKE_ARCHIVE_PRIVATE_KEYS: str | None = None
    WECHAT_API_BASE: str | None = None
    WECHAT_OA_APPID: str | None = None
    WECHAT_OA_SECRET: str | None = None
    WECHAT_OA_TOKEN: str | None = None
    WECHAT_OA_AES_KEY: str | None = None
    QUNKE_EMBEDDINGS_API_KEY: str | None = None


_ENV_TARGETS: Final = {
    "QUNKE_DATABASE_URL": ("database", "url"),
    "WECOM_API_BASE": ("wecom", "api_base"),
    "WECOM_CORP_ID": ("wecom", "corp_id"),
    "WECOM_AGENT_ID": ("wecom", "agent_id"),
    "WECOM_SECRET": ("wecom", "secret"),
    "WECOM_TOKEN": ("wecom", "token"),
    "WECOM_AES_KEY": ("wecom", "aes_key"),
    "WECOM_ARCHIVE_SECRET": ("archive", "secret"),
    "QUNKE_ARCHIVE_PRIVATE_KEYS": ("archive", "private_keys"),
    "WECHAT_API_BASE": ("officialaccount", "api_base"),
    "WECHAT_OA_APPID": ("officialaccount", "app_id"),
    "WECHAT_OA_SECRET": ("officialaccount", "secret"),
    "WECHAT_OA_TOKEN": ("officialaccount", "token"),
    "WECHAT_OA_AES_KEY": ("officialaccount", "aes_key"),
}
EMBEDDINGS_KEY_ENV: Final = "QUNKE_EMBEDDINGS_API_KEY"
_SECRET_KEYS: Final = {"corp_id", "agent_id", "secret", "token", "aes_key", "app_id", "private_keys"}


def config_path_from_env(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    return Path(env.get("QUNKE_CONFIG", DEFAULT_CONFIG_PATH))


def load_settings(path: Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Parse config.yaml (optional when absent at the default path) and overlay the environment."""
    env = dict(os.environ if environ is None else environ)
    path = path or config_path_from_env(env)
    data = _read_yaml(path, required="QUNKE_CONFIG" in env)
    _reject_secrets_in_file(data, path)
    values = _Environment(**{k: v for k, v in env.items() if k in _ENV_TARGETS}).model_dump()
    for name, value in values.items():
        if value:
            section, key = _ENV_TARGETS[name]
            data.setdefault(section, {})
            if not isinstance(data[section], dict):
                raise ConfigError(f"{path}: {section}: expected a mapping")
            data[section][key] = value
    _overlay_embeddings_key(data, env.get(EMBEDDINGS_KEY_ENV), path)
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, path)) from None


def _overlay_embeddings_key(data: dict[str, Any], api_key: str | None, path: Path) -> None:
    """The FAQ embedder's key sits one level deeper (faq.embedder.api_key) than the sections _ENV_TARGETS fills."""
    faq = data.get("faq")
    embedder = faq.get("embedder") if isinstance(faq, Mapping) else None
    if isinstance(embedder, Mapping) and "api_key" in embedder:
        raise ConfigError(
            f"{path}: faq.embedder.api_key: secrets belong in the environment ({EMBEDDINGS_KEY_ENV}), not the file"
        )
    if not api_key:
        return
    if not isinstance(data.setdefault("faq", {}), dict) or not isinstance(data["faq"].setdefault("embedder", {}), dict):
        raise ConfigError(f"{path}: faq.embedder: expected a mapping")
    data["faq"]["embedder"]["api_key"] = api_key


def _read_yaml(path: Path, *, required: bool) -> dict[str, Any]:
    if not path.exists():
        if required:
            raise ConfigError(f"{path}: config file not found (QUNKE_CONFIG points at it)")
        return {}
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(loaded).__name__}")
    return loaded


def _reject_secrets_in_file(data: Mapping[str, Any], path: Path) -> None:
    from_env = {target: name for name, target in _ENV_TARGETS.items()}
    for section in ("wecom", "officialaccount", "archive"):
        values = data.get(section)
        if isinstance(values, Mapping):
            leaked = sorted(_SECRET_KEYS & set(values))
            if leaked:
                names = ", ".join(from_env[(section, key)] for key in leaked)
                raise ConfigError(
                    f"{path}: {section}.{leaked[0]}: secrets belong in the environment ({names}), not the file"
                )


def _describe(exc: ValidationError, path: Path) -> str:
    lines = []
    from_env = {target: name for name, target in _ENV_TARGETS.items()}
    for err in exc.errors():
        where = ".".join(str(part) for part in err["loc"]) or "(top level)"
        env_name = from_env.get(tuple(str(p) for p in err["loc"][:2]))  # type: ignore[arg-type]
        if env_name is not None and err["loc"][-1] in _SECRET_KEYS:
            lines.append(f"environment {env_name}: {err['msg']}")  # never echo a secret back
        elif err["type"] == "extra_forbidden":
            lines.append(f"{path}: {where}: unknown key (check the spelling against config.yaml's documented keys)")
        else:
            lines.append(f"{path}: {where}: {err['msg']} (got {err.get('input')!r})")
    return "\n".join(lines)
