"""The XML fast path: WeCom's documents take it, and whatever it accepts parses exactly as expat + xmltodict do."""

from __future__ import annotations

import random

import pytest

from bot.channels.wecom.crypto import CallbackCrypto
from bot.channels.wecom.parse import CallbackParseError, Fields, _plain_fields, parse_xml, parse_xml_fully

TEXT_MESSAGE = (
    "<xml><ToUserName><![CDATA[ww5a1f0c9e2b7d4a31]]></ToUserName><FromUserName><![CDATA[zhangsan]]></FromUserName>"
    "<CreateTime>1348831860</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[请问 <b>发货</b> 了吗 & "
    "多久到？😀]]></Content><MsgId>1234567890123456</MsgId><AgentID>1000002</AgentID></xml>"
)
KF_EVENT = """<xml>
   <ToUserName><![CDATA[ww12345678910]]></ToUserName>
   <CreateTime>1348831860</CreateTime>
   <MsgType><![CDATA[event]]></MsgType>
   <Event><![CDATA[kf_msg_or_event]]></Event>
   <Token><![CDATA[ENCApHxnGDNAVNY4AaSJKj4Tb5mwsEMzxhFmHVGcra996NR]]></Token>
   <OpenKfId><![CDATA[wkxxxxxxx]]></OpenKfId>
</xml>"""


def test_wecom_documents_take_the_fast_path_and_parse_as_expat_does() -> None:
    crypto = CallbackCrypto.from_settings("token", "yQu5ggX7NX1xmsAPW0EbgYJB67kkb5lfSee7YPbtkyQ", "ww5a1f0c9e2b7d4a31")
    envelope = (
        "<xml><ToUserName><![CDATA[ww5a1f0c9e2b7d4a31]]></ToUserName>"
        f"<Encrypt><![CDATA[{crypto.encrypt(TEXT_MESSAGE)}]]></Encrypt><AgentID><![CDATA[1000002]]></AgentID></xml>"
    )
    for document in (TEXT_MESSAGE, KF_EVENT, envelope):
        fast = _plain_fields(document)
        assert fast is not None
        assert fast == parse_xml_fully(document)
    assert parse_xml(TEXT_MESSAGE)["Content"] == "请问 <b>发货</b> 了吗 & 多久到？😀"


@pytest.mark.parametrize(
    "document",
    [
        "<xml><a><![CDATA[a]]>b]]></a></xml>",  # "]]>" in text after a CDATA section: not well-formed
        "<xml><a>x]]>y</a></xml>",
        "<xml><a>x\x01</a></xml>",  # a control character
        "<xml><a><![CDATA[\x0b]]></a></xml>",
        "<xml><a>&lt;</a></xml>",  # a reference: left to expat, which resolves it
        "<xml><a>1</b></xml>",  # mismatched tags
        "<xml><a>1</a>junk</xml>",  # root text beside the children
        "<xml><a>1</a></xml><xml><b>2</b></xml>",
        '<xml><a id="1">1</a></xml>',
        "<xml><a><b>1</b></a></xml>",
        "<xml></xml>",
        "<!DOCTYPE xml [<!ENTITY e 'x'>]><xml><a>&e;</a></xml>",
        "\ufeff<xml><a>1</a></xml>",
        "<xml><a>1\r\n2</a></xml>",
        "<xml><a>\ud800</a></xml>",
    ],
)
def test_fast_path_leaves_everything_else_to_the_full_parse(document: str) -> None:
    assert _plain_fields(document) is None


def test_a_cdata_section_ends_at_its_first_terminator() -> None:
    document = "<xml><a><![CDATA[x]]]]></a></xml>"
    assert _plain_fields(document) == {"a": "x]]"} == parse_xml_fully(document)


def test_fast_path_agrees_with_the_full_parse_on_generated_documents() -> None:
    """Every accepted document parses to the same fields both ways; every refusal by the full parse is left to it.

    Pieces are drawn from what breaks naive scanners (markup characters, CDATA delimiters, references, whitespace
    XML normalizes or forbids, wide characters); a fixed seed keeps a failure reproducible.
    """
    rng = random.Random(20261207)
    pieces = [
        "a", "发货", "😀", " ", "\n", "\t", "\u3000", "<", ">", "&", "]", "]]>", "<![CDATA[", "]]", "\r", "\x01",
        "&amp;", "<b>", "</b>", "x", "1",
    ]  # fmt: skip
    names = ["a", "MsgType", "Content", "x.y", "_z", "Item", "a-b"]
    accepted = 0
    for _ in range(20000):
        parts = ["" if rng.random() < 0.7 else rng.choice([" ", "\n"]), "<xml>"]
        for _element in range(rng.randint(0, 4)):
            name = rng.choice(names)
            body = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 5)))
            if rng.random() < 0.5:
                body = f"{rng.choice(['', ' '])}<![CDATA[{body}]]>{rng.choice(['', ' ', 'y'])}"
            closing = name if rng.random() < 0.95 else rng.choice(names)
            parts.append(f"{rng.choice(['', ' ', chr(10)])}<{name}>{body}</{closing}>")
        parts.append(rng.choice(["</xml>", "</xml>\n", "</xml>x", ""]))
        document = "".join(parts)
        fast = _plain_fields(document)
        if fast is None:
            continue
        accepted += 1
        assert fast == _full_or_error(document), document
    assert accepted > 1000  # the generator reaches the fast path often enough to mean something


def _full_or_error(document: str) -> Fields | str:
    try:
        return parse_xml_fully(document)
    except CallbackParseError as exc:
        return f"refused: {exc}"
