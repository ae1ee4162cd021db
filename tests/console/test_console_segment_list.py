"""The 人群 list names who made a segment as the person logged in, and its help text needs no design document."""

from __future__ import annotations

from console.filters import actor_name
from tests.console.test_console_campaigns import SEGMENT, _post
from tests.support.console_world import client, login, running_console


async def test_segment_list_shows_the_login_of_its_maker_when_a_manager_saved_it(database_url: str) -> None:
    async with running_console(database_url) as world, client() as http:
        await login(http, world.base, "boss")
        status, _, _ = await _post(http, world, "/console/segments", document=SEGMENT, action="save")
        assert status == 302
        async with http.get(f"{world.base}/console/segments") as page:
            listed = await page.text()
        assert "<td>boss</td>" in listed and "user:boss" not in listed
        assert "DESIGN.md" not in listed


def test_actor_names_read_as_people_when_rows_were_made_by_the_cli_or_the_bot() -> None:
    assert (actor_name("user:boss"), actor_name("cli"), actor_name("bot"), actor_name(None)) == (
        "boss",
        "命令行",
        "机器人",
        "-",
    )
