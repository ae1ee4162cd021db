"""How `sandbox kf-chats` shows one kf message: text as said, a menu with the ids `kf-click --menu-id` takes."""

from __future__ import annotations

from sandbox.wire import Json


def message_lines(line: Json) -> list[str]:
    """The message's first line, then one indented line per menu item (empty for anything but a menu)."""
    message = line.get("message")
    msgtype = str(line.get("msgtype"))
    body = message.get(msgtype) if isinstance(message, dict) else None
    if msgtype == "text" and isinstance(body, dict):
        menu_id = message.get("text", {}).get("menu_id") if isinstance(message, dict) else None
        tapped = f"（点击菜单 {menu_id}）" if menu_id else ""
        return [f"{body.get('content')}{tapped}"]
    if msgtype == "event" and isinstance(body, dict):
        return [f"事件 {body.get('event_type')}"]
    if msgtype == "msgmenu" and isinstance(body, dict):
        return _menu_lines(body)
    return [msgtype]


def _menu_lines(menu: Json) -> list[str]:
    items = menu.get("list")
    lines = [f"菜单：{menu.get('head_content') or ''}"]
    for item in items if isinstance(items, list) else []:
        kind = item.get("type") if isinstance(item, dict) else None
        entry = item.get(str(kind)) if isinstance(item, dict) else None
        if not isinstance(entry, dict):
            continue
        if kind == "click":
            lines.append(f"    · {entry.get('content')}  （--menu-id {entry.get('id')}）")
        else:
            lines.append(f"    · {entry.get('content')}  （{kind}）")
    if tail := menu.get("tail_content"):
        lines.append(f"    {tail}")
    return lines
