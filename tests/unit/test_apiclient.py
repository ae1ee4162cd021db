"""The API client's typing of answers: errcode classes, read APIs, and the sender's lease check on settings."""

from __future__ import annotations

import pytest

from bot.channels.apiclient import ErrorClass, is_read_api
from bot.channels.officialaccount.client import OfficialAccountClient
from bot.channels.wecom.client import WeComClient
from bot.config.base import ConfigError
from bot.config.sender import SenderSettings


@pytest.mark.parametrize(
    ("errcode", "wecom", "oa"),
    [
        (42001, ErrorClass.TOKEN, ErrorClass.TOKEN),
        (40014, ErrorClass.TOKEN, ErrorClass.TOKEN),
        (41001, ErrorClass.TOKEN, ErrorClass.TOKEN),
        (40001, ErrorClass.PERMANENT, ErrorClass.TOKEN),  # on the OA API 40001 is a stale token
        (45009, ErrorClass.RATE_LIMIT, ErrorClass.RATE_LIMIT),
        (45033, ErrorClass.RATE_LIMIT, ErrorClass.RATE_LIMIT),
        (-1, ErrorClass.TRANSIENT, ErrorClass.TRANSIENT),
        (81013, ErrorClass.PERMANENT, ErrorClass.PERMANENT),
        (95001, ErrorClass.PERMANENT, ErrorClass.PERMANENT),
    ],
)
def test_errcodes_fall_into_the_class_that_decides_the_retry_when_either_api_answers(
    errcode: int, wecom: ErrorClass, oa: ErrorClass
) -> None:
    assert WeComClient.classify(errcode) is wecom
    assert OfficialAccountClient.classify(errcode) is oa


@pytest.mark.parametrize(
    ("path", "read"),
    [
        ("/cgi-bin/externalcontact/get_groupmsg_task", True),
        ("/cgi-bin/externalcontact/groupchat/list", True),
        ("/cgi-bin/kf/sync_msg", True),
        ("/cgi-bin/user/get", True),
        ("/cgi-bin/message/send", False),
        ("/cgi-bin/externalcontact/add_msg_template", False),
        ("/cgi-bin/gettoken", False),
    ],
)
def test_read_apis_are_named_by_a_get_list_or_sync_word_when_capping_parallel_reads(path: str, read: bool) -> None:
    assert is_read_api(path) is read


def test_a_lease_shorter_than_three_request_timeouts_is_refused_when_the_app_starts() -> None:
    with pytest.raises(ConfigError, match="lease_s"):
        SenderSettings(lease_s=20).check_lease(10)
    with pytest.raises(ConfigError, match="duplicate_check_interval_s"):
        SenderSettings(lease_s=60, duplicate_check_interval_s=100).check_lease(10)
    SenderSettings().check_lease(10)
