"""JSON bodies for every sandbox HTTP endpoint: typed access to request objects and bilingual error answers."""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import partial

from aiohttp import web

from sandbox.model import ActionError
from sandbox.wire import Json

dumps = partial(json.dumps, ensure_ascii=False)


def json_response(body: Json, status: int = 200) -> web.Response:
    return web.json_response(body, status=status, dumps=dumps)


def error_response(error: ActionError) -> web.Response:
    return json_response({"ok": False, "error": {"code": error.code, "message": error.message}}, error.status)


async def read_object(request: web.Request) -> Json:
    """The body as a JSON object; an empty body counts as {} so argument-free actions need none."""
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ActionError(400, "bad_json", "请求体不是合法的 JSON", "the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ActionError(400, "bad_json", "请求体必须是 JSON 对象", "the body must be a JSON object")
    return body


def _bad_field(name: str, zh_expected: str, en_expected: str) -> ActionError:
    return ActionError(400, "bad_field", f"字段 {name} 应为{zh_expected}", f"field {name} must be {en_expected}")


class Body:
    """Named, typed fields of one admin request; a wrong or missing field is a 400 naming it."""

    def __init__(self, raw: Mapping[str, object]) -> None:
        self._raw = raw

    def text(self, name: str) -> str:
        value = self.optional_text(name)
        if not value:
            raise ActionError(400, "missing_field", f"缺少字段 {name}", f"missing field {name}")
        return value

    def optional_text(self, name: str) -> str | None:
        value = self._raw.get(name)
        if value is None:
            return None
        if not isinstance(value, str):
            raise _bad_field(name, "字符串", "a string")
        return value.strip()

    def flag(self, name: str) -> bool:
        value = self._raw.get(name, False)
        if not isinstance(value, bool):
            raise _bad_field(name, " true 或 false", "true or false")
        return value

    def integer(self, name: str, default: int) -> int:
        value = self._raw.get(name, default)
        if not isinstance(value, int) or isinstance(value, bool):
            raise _bad_field(name, "整数", "an integer")
        return value

    def number(self, name: str) -> float | None:
        value = self._raw.get(name)
        if value is None:
            return None
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise _bad_field(name, "数字", "a number")
        return float(value)

    def text_list(self, name: str) -> list[str] | None:
        value = self._raw.get(name)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise _bad_field(name, "字符串数组", "a list of strings")
        return [item.strip() for item in value if item.strip()]
