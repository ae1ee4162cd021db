"""Reading a YAML/JSON document typed into a console textarea, and the campaign policy the pages preview with."""

from __future__ import annotations

from typing import Any, Final

import yaml
from aiohttp import web

from campaigns.policy import CampaignPolicy
from console.deps import deps
from services.service.calendar import BusinessCalendar, WorkingHours

DOCUMENT_MAX: Final = 20_000  # characters: a filter or campaign document is a few lines


class DocumentTextError(ValueError):
    """A textarea that is not a YAML/JSON mapping; the message is Chinese and says where."""


def parse_text(text: str) -> dict[str, Any]:
    """A mapping from YAML (JSON is valid YAML); errors say the line and column, never a traceback."""
    if not text.strip():
        raise DocumentTextError("请填写文档内容（YAML 或 JSON）")
    if len(text) > DOCUMENT_MAX:
        raise DocumentTextError(f"文档过长（最多 {DOCUMENT_MAX} 个字符）")
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"第 {mark.line + 1} 行第 {mark.column + 1} 列" if mark is not None else "某处"
        raise DocumentTextError(f"文档格式有误：{where}无法解析为 YAML/JSON") from None
    if not isinstance(loaded, dict):
        raise DocumentTextError("文档应为键值结构（例如 name: …），而不是单个值或列表")
    return {str(k): v for k, v in loaded.items()}


def campaign_policy(request: web.Request) -> CampaignPolicy:
    config = deps(request).config
    if config.campaigns is not None:
        return config.campaigns
    return CampaignPolicy(zone=config.timezone, calendar=BusinessCalendar(config.timezone, WorkingHours()))
