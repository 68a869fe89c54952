"""The options several commands share, defined once so their names and help never drift apart."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def _one(hint: str) -> Callable[[click.Context, click.Parameter, tuple[Any, ...]], Any]:
    """A callback that keeps one value of a `multiple=True` option and refuses a repeated one.

    click keeps the last of a repeated plain option: `-f prod.yaml -f staging.yaml` would silently
    act on staging. The option collects every value instead, and two are a usage error (exit 1).
    """

    def keep_one(ctx: click.Context, param: click.Parameter, values: tuple[Any, ...]) -> Any:
        if len(values) > 1:
            given = ", ".join(str(v) for v in values)
            raise click.BadParameter(f"given {len(values)} times ({given}); name one manifest{hint}", ctx, param)
        return values[0] if values else None

    return keep_one


def file_option(
    *,
    default: Path | str | None = None,
    help: str = "The manifest (default telephony.yaml).",
    type: Any = None,
    hint: str = "",
) -> Callable[[F], F]:
    """`-f/--file` (parameter `path`): one manifest; repeating it is an error, never an override."""
    return click.option(
        "-f",
        "--file",
        "path",
        type=type or click.Path(path_type=Path),
        multiple=True,
        callback=_one(hint),
        # `multiple` options default to (); the callback turns "not given" into `default`.
        default=(default,) if default is not None else (),
        show_default=default is not None,
        metavar="FILE",
        help=help,
    )


FILE = file_option()
ENV = click.option("--env", "env", default=None, help="Environment from the manifest's environments: block.")
VAR = click.option("--var", "variables", multiple=True, metavar="K=V", help="Set a template variable.")
SANDBOX = click.option(
    "--sandbox",
    is_flag=True,
    help="Run against the local emulator (state: .telephony/sandbox-NAME.json beside NAME.yaml).",
)
API_URL = click.option("--api-url", default=None, help="API base URL (else ELEVENLABS_BASE_URL, else the region).")
