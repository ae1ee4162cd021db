"""Safe XML parsing of WeCom envelopes and decrypted callbacks, and the dedupe key of each callback."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Final
from xml.parsers import expat
from xml.parsers.expat import ExpatError

import xmltodict

from bot.channel_ports import UndecodableEvent

SYSTEM_SENDER: Final = "sys"
MAX_DEPTH: Final = 8
# WeCom's and WeChat's callbacks nest at most four elements deep (<xml><MemChangeList><Item>); anything far deeper is
# hostile, and left to xmltodict and json.dumps it recursed until RecursionError (a 500 for any stranger).
MAX_ELEMENT_DEPTH: Final = 16

Fields = dict[str, "str | list[str]"]


class CallbackParseError(UndecodableEvent):
    """The body is not the XML WeCom sends; the message says why, for the log line."""


class XmlTooDeep(CallbackParseError):
    """Elements nested deeper than any callback does: refused before anything recursive looks at it."""


@dataclass(frozen=True, slots=True)
class Callback:
    """A decrypted callback: its flat fields, its kind (`text`, `change_external_chat/update`...) and dedupe key."""

    fields: Fields
    kind: str
    dedupe_key: str

    def get(self, name: str) -> str:
        value = self.fields.get(name, "")
        return value if isinstance(value, str) else ",".join(value)

    def items_of(self, name: str) -> list[str]:
        """A list field, in either of WeCom's shapes: `<Item>` children (newer) or a comma list (older)."""
        value = self.fields.get(name, "")
        if isinstance(value, list):
            return [v for v in value if v]
        return [part for part in value.split(",") if part]


def parse_xml(body: str) -> Fields:
    """Parse `<xml>...</xml>` into flat fields; entity declarations, deep nesting and broken XML are refused.

    The documents WeCom sends almost always take the fast path (`_plain_fields`). Otherwise one expat pass both
    checks the shape and, for other flat documents (`<xml>` holding text elements, no attributes), builds the
    fields; only anything richer is handed to xmltodict, which parses it a second time.
    """
    plain = _plain_fields(body)
    return plain if plain is not None else parse_xml_fully(body)


def parse_xml_fully(body: str) -> Fields:
    """`parse_xml` without the fast path: what every document it accepts must parse to."""
    flat = _FlatFields()
    _check_shape(body, flat)
    if flat.fields is not None:
        return flat.fields
    try:
        doc = xmltodict.parse(body, disable_entities=True)
    except ExpatError as exc:
        raise CallbackParseError(f"malformed XML: {exc}") from None
    except ValueError as exc:  # xmltodict's refusal of DOCTYPE/ENTITY (billion laughs, external entities)
        raise CallbackParseError(f"hostile XML: {exc}") from None
    root = doc.get("xml") if isinstance(doc, dict) else None
    if not isinstance(root, dict):
        raise CallbackParseError("root element is not <xml>")
    return {key: _flatten(key, value, 1) for key, value in root.items()}


# The common case, matched without an XML parser: `<xml>`, then elements each holding one CDATA section or plain
# text without markup or references, then `</xml>`. Every document this accepts is well-formed XML that expat and
# xmltodict read to the same fields (tests/unit/test_parse_fast_path.py compares them on generated documents); any
# other document, including every one expat would refuse, goes to the full parse. On the webhook's path the two
# documents of each callback cost ~25 µs through expat's Python callbacks, a fifth of its CPU per callback.
_NAME: Final = r"[A-Za-z_][A-Za-z0-9_.\-]*"
# Characters XML forbids or rewrites (a CR is normalized to LF) and lone surrogates, which are not UTF-8: text
# holding any is left to expat.
_NOT_PLAIN: Final = "\x00-\x08\x0b\x0c\x0e-\x1f\r\ud800-\udfff\ufffe\uffff"
_ROOT_OPEN: Final = re.compile(r"[ \t\n]*<xml>")
_ROOT_CLOSE: Final = re.compile(r"[ \t\n]*</xml>[ \t\n]*\Z")
_ELEMENT: Final = re.compile(
    # A CDATA section ends at its first "]]>"; plain text holds no "<", "&" or "]" (so no "]]>" either).
    rf"[ \t\n]*<({_NAME})>(?:[ \t\n]*<!\[CDATA\[([^\]{_NOT_PLAIN}]*(?:\](?!\]>)[^\]{_NOT_PLAIN}]*)*)\]\]>[ \t\n]*"
    rf"|([^<&\]{_NOT_PLAIN}]*))</({_NAME})>"
)


def _plain_fields(body: str) -> Fields | None:
    """The fields of a document in the common shape, or None to leave it to the full parse."""
    opened = _ROOT_OPEN.match(body)
    if opened is None:
        return None
    fields: Fields = {}
    pos = opened.end()
    while (element := _ELEMENT.match(body, pos)) is not None:
        name, cdata, text, closing = element.groups()
        if closing != name:
            return None
        value = (cdata if text is None else text).strip()  # xmltodict strips; an empty element flattens to ""
        earlier = fields.get(name)
        if earlier is None:
            fields[name] = value
        elif isinstance(earlier, list):
            earlier.append(value)
        else:
            fields[name] = [earlier, value]
        pos = element.end()
    if not fields or _ROOT_CLOSE.match(body, pos) is None:
        return None
    return fields


class _FlatFields:
    """Builds the fields during the shape check, exactly as xmltodict + `_flatten` would for a flat document.

    `fields` stays None when the document is not flat (a deeper element, an attribute, text beside the root's
    children, another root name, no children): xmltodict then decides, so the result never depends on the path.
    """

    def __init__(self) -> None:
        self.fields: Fields | None = None
        self._building: Fields = {}
        self._flat = True
        self._depth = 0
        self._text: list[str] = []

    def start(self, name: str, attrs: object) -> None:
        self._depth += 1
        if attrs or self._depth > 2 or (self._depth == 1 and name != "xml"):
            self._flat = False
        self._text = []

    def end(self, name: str) -> None:
        if self._depth == 2 and self._flat:
            value = "".join(self._text).strip()  # xmltodict strips; an empty element flattens to ""
            earlier = self._building.get(name)
            if earlier is None:
                self._building[name] = value
            elif isinstance(earlier, list):
                earlier.append(value)
            else:
                self._building[name] = [earlier, value]
        elif self._depth == 1 and self._flat and self._building:
            self.fields = self._building
        self._depth -= 1
        self._text = []

    def text(self, data: str) -> None:
        if self._depth == 1 and data.strip():
            self._flat = False  # the root's own text: xmltodict keeps it as "#text"
        self._text.append(data)


def _check_shape(body: str, flat: _FlatFields) -> None:
    """One streaming pass: refuse a DOCTYPE (WeCom never sends one) and nesting past the cap; build flat fields."""
    parser = expat.ParserCreate("utf-8")  # the body is already text: a declared encoding (GBK, junk) is ignored
    depth = 0

    def start(name: str, attrs: object) -> None:
        nonlocal depth
        depth += 1
        if depth > MAX_ELEMENT_DEPTH:
            raise XmlTooDeep(f"elements nested deeper than {MAX_ELEMENT_DEPTH}")
        flat.start(name, attrs)

    def end(name: str) -> None:
        nonlocal depth
        depth -= 1
        flat.end(name)

    def doctype(*_args: object) -> None:
        raise CallbackParseError("hostile XML: a DOCTYPE declaration")

    parser.StartElementHandler, parser.EndElementHandler = start, end
    parser.CharacterDataHandler = flat.text
    parser.StartDoctypeDeclHandler = doctype
    try:
        parser.Parse(body.encode("utf-8", "surrogatepass"), True)
    except (ExpatError, ValueError, LookupError) as exc:
        raise CallbackParseError(f"malformed XML: {exc}") from None


def _flatten(key: str, value: object, depth: int) -> str | list[str]:
    if depth > MAX_DEPTH:
        raise CallbackParseError(f"element {key} nested too deeply")
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return [v if isinstance(v, str) else str(_flatten(key, v, depth + 1)) for v in value]
    if isinstance(value, dict):
        if set(value) == {"Item"}:  # <MemChangeList><Item>..</Item></MemChangeList>
            items = value["Item"]
            return [str(i or "") for i in items] if isinstance(items, list) else [str(items or "")]
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    raise CallbackParseError(f"unexpected value in {key}")


def to_callback(fields: Fields) -> Callback:
    msg_type = _text(fields, "MsgType")
    if not msg_type:
        raise CallbackParseError("MsgType missing")
    event = _text(fields, "Event")
    change = _text(fields, "ChangeType")
    kind = msg_type if msg_type != "event" else "/".join(part for part in (event, change) if part) or "event"
    return Callback(fields=fields, kind=kind, dedupe_key=dedupe_key(fields, kind))


def dedupe_key(fields: Fields, kind: str) -> str:
    """MsgId for messages; for events FromUserName+CreateTime (WECOM.md §1.7), except events from `sys`.

    Every customer-contact event comes from `sys`, so two different ones in the same second would collide:
    those are keyed on a hash of all their own fields, which a redelivery repeats exactly.
    """
    msg_id = _text(fields, "MsgId")
    if msg_id:
        return f"msg:{msg_id}"
    sender = _text(fields, "FromUserName")
    if sender and sender != SYSTEM_SENDER:
        event_key = _text(fields, "EventKey")
        return f"evt:{sender}:{_text(fields, 'CreateTime')}:{kind}:{event_key}"[:160]
    canonical = json.dumps(fields, ensure_ascii=False, sort_keys=True)
    return f"sys:{kind}:{hashlib.sha256(canonical.encode()).hexdigest()[:40]}"[:160]


def _text(fields: Fields, name: str) -> str:
    value = fields.get(name, "")
    return value if isinstance(value, str) else ""
