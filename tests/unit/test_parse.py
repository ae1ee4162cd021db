"""Parsing decrypted callbacks: kinds, dedupe keys, both MemChangeList shapes, and hostile XML."""

from __future__ import annotations

import pytest
import xmltodict

from bot.channels.wecom.parse import CallbackParseError, _flatten, parse_xml, to_callback

CHAT_UPDATE = """<xml><ToUserName><![CDATA[ww1]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>
<CreateTime>1700000000</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[change_external_chat]]></Event>
<ChatId><![CDATA[wrAAA]]></ChatId><ChangeType><![CDATA[update]]></ChangeType>
<UpdateDetail><![CDATA[add_member]]></UpdateDetail><JoinScene>3</JoinScene><MemChangeCnt>2</MemChangeCnt>
{members}<LastMemVer><![CDATA[v1]]></LastMemVer><CurMemVer><![CDATA[v2]]></CurMemVer></xml>"""


def test_kind_joins_event_and_change_type_when_event_is_customer_contact() -> None:
    callback = to_callback(parse_xml(CHAT_UPDATE.format(members="")))
    assert callback.kind == "change_external_chat/update"


def test_member_list_reads_items_when_callback_uses_item_elements() -> None:
    members = "<MemChangeList><Item><![CDATA[wmA]]></Item><Item><![CDATA[wmB]]></Item></MemChangeList>"
    callback = to_callback(parse_xml(CHAT_UPDATE.format(members=members)))
    assert callback.items_of("MemChangeList") == ["wmA", "wmB"]


def test_member_list_reads_commas_when_callback_uses_old_format() -> None:
    callback = to_callback(parse_xml(CHAT_UPDATE.format(members="<MemChangeList>wmA,wmB</MemChangeList>")))
    assert callback.items_of("MemChangeList") == ["wmA", "wmB"]


def test_dedupe_key_is_msgid_when_message_has_one() -> None:
    xml = "<xml><FromUserName>zhangsan</FromUserName><MsgType>text</MsgType><MsgId>42</MsgId></xml>"
    assert to_callback(parse_xml(xml)).dedupe_key == "msg:42"


def test_dedupe_keys_differ_when_two_sys_events_share_a_second() -> None:
    a = to_callback(parse_xml(CHAT_UPDATE.format(members="<MemChangeList><Item>wmA</Item></MemChangeList>")))
    b = to_callback(parse_xml(CHAT_UPDATE.format(members="<MemChangeList><Item>wmB</Item></MemChangeList>")))
    assert a.dedupe_key != b.dedupe_key
    assert a.dedupe_key.startswith("sys:change_external_chat/update:")


def test_dedupe_key_is_stable_when_the_same_event_is_redelivered_with_other_whitespace() -> None:
    members = "<MemChangeList><Item>wmA</Item></MemChangeList>"
    once = to_callback(parse_xml(CHAT_UPDATE.format(members=members)))
    again = to_callback(parse_xml(CHAT_UPDATE.format(members=members).replace("\n", "")))
    assert once.dedupe_key == again.dedupe_key


def test_dedupe_key_uses_sender_and_time_when_member_event_has_no_msgid() -> None:
    xml = (
        "<xml><FromUserName>lisi</FromUserName><CreateTime>17</CreateTime><MsgType>event</MsgType>"
        "<Event>enter_agent</Event></xml>"
    )
    assert to_callback(parse_xml(xml)).dedupe_key == "evt:lisi:17:enter_agent:"


@pytest.mark.parametrize(
    "body",
    [
        '<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]><xml><C>&b;</C></xml>',
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><C>&e;</C></xml>',
        "<xml><Content>unterminated",
        "<notxml>1</notxml>",
        "<xml>just text</xml>",
        "",
    ],
)
def test_parse_refuses_when_xml_is_hostile_or_malformed(body: str) -> None:
    with pytest.raises(CallbackParseError):
        to_callback(parse_xml(body))


def test_deep_nesting_is_refused_cheaply_when_a_body_nests_1000_elements() -> None:
    from bot.channels.wecom.parse import XmlTooDeep

    with pytest.raises(XmlTooDeep):
        parse_xml("<xml><A>" + "<b>" * 1000 + "x" + "</b>" * 1000 + "</A></xml>")


def test_declared_encoding_is_ignored_when_the_body_is_already_text() -> None:
    fields = parse_xml('<?xml version="1.0" encoding="GBK"?><xml><MsgType>text</MsgType><A>中</A></xml>')
    assert fields["A"] == "中"


def test_any_doctype_is_refused_when_it_declares_no_entity() -> None:
    with pytest.raises(CallbackParseError, match="DOCTYPE"):
        parse_xml('<!DOCTYPE xml SYSTEM "http://example.invalid/x.dtd"><xml><MsgType>text</MsgType></xml>')


def _xmltodict_fields(body: str) -> dict[str, str | list[str]]:
    """The fields as xmltodict alone builds them: what the one-pass parse must match."""
    root = xmltodict.parse(body, disable_entities=True)["xml"]
    assert isinstance(root, dict)
    return {key: _flatten(key, value, 1) for key, value in root.items()}


@pytest.mark.parametrize(
    "body",
    [
        "<xml>\n <A> 1 </A>\n <A>2</A><A/><B><![CDATA[ x&y ]]></B><C></C>\n</xml>",
        "<xml><A>1</A><B/><A>3</A><A></A><D>&amp;&lt;</D></xml>",
        "<xml><!-- note --><A>1<!-- inside -->2</A><?pi x?></xml>",
        "<xml><L><Item>a</Item><Item>b</Item></L><M><Item>z</Item></M></xml>",
        "<xml><A><B>1</B><C>2</C></A></xml>",
        "<xml>stray<A>1</A></xml>",
        "<xml k='v'><A>1</A></xml>",
        "<xml><A k='v'>1</A></xml>",
    ],
)
def test_one_pass_fields_equal_xmltodicts_when_the_body_is_flat_or_richer(body: str) -> None:
    assert parse_xml(body) == _xmltodict_fields(body)


@pytest.mark.parametrize("body", ["<xml/>", "<xml>  </xml>", "<xml>text</xml>", "<foo><A>1</A></foo>"])
def test_root_is_refused_when_it_is_not_an_xml_element_with_children(body: str) -> None:
    with pytest.raises(CallbackParseError, match="root element is not <xml>"):
        parse_xml(body)
