"""Extra gate rules before matching: a greeting that names its addressee, a question in one clause of several."""

from __future__ import annotations

import re
from typing import Final

from services.text.intent import is_chitchat, needs_answer

# How customers address the person at the other end ("医生你好", "好的谢谢老板"): a role, not a topic. Said with a
# greeting or thanks, the whole message is chit-chat, however well the role word matches an entry ("doctors").
_ADDRESS: Final = re.compile(
    r"(医生|大夫|老板娘|老板|老师|师傅|客服|小哥哥|小姐姐|小哥|美女|帅哥|掌柜|店长|管家|前台|护士|阿姨|姐姐|哥哥|姐|哥)"
)
# Whitespace (and punctuation) between the parts of a WeChat message: each part may be a question of its own.
_CLAUSE_BREAK: Final = re.compile(r"[\s,，。.!！~～、;；]+")
# Where a question may end and context begin: sentence punctuation and the spaces WeChat users type instead.
_SENTENCE_BREAK: Final = re.compile(r"[\s,，。.!！?？~～;；]+")
_NOT_LETTERS: Final = re.compile(r"[\W_]+")
# Below this many letters a clause is scored only as part of the whole message (tuned on the development sets:
# 4-5 let "多钱" and "能装空调吗" pull generic matches out of context; 7 loses real questions).
MIN_CLAUSE_CHARS: Final = 6


def is_addressed_chitchat(text: str) -> bool:
    """Chit-chat once the addressee's title is taken out ("医生你好" -> "你好")."""
    stripped = _ADDRESS.sub(" ", text)
    return stripped != text and bool(stripped.strip()) and is_chitchat(stripped)


def question_clauses(text: str) -> list[str]:
    """The clauses of a message of several that ask something on their own ("请问回放在哪看？我上周有事没来" -> the
    first); none for a message of one clause. A short clause ("多钱", "能退吗") means little without its context and
    is left to the whole message."""
    parts = [p for p in _SENTENCE_BREAK.split(text.strip()) if p]
    if len(parts) < 2:
        return []
    return [p for p in parts if len(_NOT_LETTERS.sub("", p)) >= MIN_CLAUSE_CHARS and needs_answer(p)]


def has_question_clause(text: str) -> bool:
    """One of the message's clauses is a question or request ("有充电桩没 开的电车": the first one is)."""
    parts = [p for p in _CLAUSE_BREAK.split(text.strip()) if p]
    return len(parts) > 1 and any(needs_answer(p) for p in parts)
