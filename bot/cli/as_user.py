"""`--as-user USERID`: run a read command with that console user's Viewer, so a rep's CLI view is their console view."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli.session import with_session
from bot.config.settings import Settings
from services.access.viewer import Viewer
from services.access.viewer_reads import OPERATOR, NotForViewer, ViewerError, viewer_for
from services.customers.refs import UnknownCustomer

T = TypeVar("T")

AsUser = Annotated[
    str | None,
    typer.Option(
        "--as-user",
        metavar="USERID",
        help="以此控制台用户的权限查看（登录名或企业微信 userid）：客服只看到自己的客户 (read as this console user)",
    ),
]


async def viewer_of(session: AsyncSession, as_user: str | None) -> Viewer:
    """The console user's Viewer, or the all-seeing operator without --as-user."""
    return OPERATOR if as_user is None else await viewer_for(session, as_user)


def run_as(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work`; an unknown user, a read the role may not make or a customer out of scope is one line, exit 1."""
    try:
        return with_session(settings, work)
    except (ViewerError, NotForViewer, UnknownCustomer) as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None
