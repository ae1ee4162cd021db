"""Sub-commands imported only when run: `qunke --help` lists them from static help without importing the app."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import typer
from typer import _click as click  # typer vendors click; its groups and contexts are these classes
from typer.core import TyperCommand, TyperGroup


@dataclass(frozen=True, slots=True)
class LazyCommand:
    """Where a top-level command lives: `module.attribute` (a Typer app or a command function).

    `also` are modules that add commands to it when imported (e.g. `customer tag`); `help` is what
    `qunke --help` shows without importing anything.
    """

    module: str
    attribute: str
    help: str
    also: tuple[str, ...] = ()

    def load(self, name: str) -> click.Command:
        for module in self.also:
            importlib.import_module(module)
        target: Any = getattr(importlib.import_module(self.module), self.attribute)
        command: click.Command
        if isinstance(target, typer.Typer):
            command = typer.main.get_group(target)  # a group: no shell-completion options of its own
        else:
            single = typer.Typer(add_completion=False)
            single.command(name)(target)
            command = typer.main.get_command(single)
        command.name = name
        return command

    def placeholder(self, name: str) -> click.Command:
        return TyperCommand(name, help=self.help)


class LazyGroup(TyperGroup):
    """A Typer group whose sub-commands are `LazyCommand`s; subclasses set `lazy` (in the order to list them)."""

    lazy: ClassVar[Mapping[str, LazyCommand]] = {}
    _listing: bool = False

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*self.lazy, *(n for n in super().list_commands(ctx) if n not in self.lazy)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands or cmd_name not in self.lazy:
            return super().get_command(ctx, cmd_name)
        spec = self.lazy[cmd_name]
        if self._listing:
            return spec.placeholder(cmd_name)
        command = spec.load(cmd_name)
        self.commands[cmd_name] = command
        return command

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # The command list needs only each command's one-line help: do not import every command to print it.
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        if args and args[0] in self.lazy:
            self.get_command(ctx, args[0])  # loaded before typer looks it up (and suggests close names)
        return super().resolve_command(ctx, args)
