"""The CLI's consoles: no styling under NO_COLOR (https://no-color.org), no wrapping when piped."""

from __future__ import annotations

import os

from rich.console import Console

PIPE_WIDTH = 1000  # a pipe or a file has no width: lines and tables keep their natural length


def make_console(*, stderr: bool = False) -> Console:
    no_color = bool(os.environ.get("NO_COLOR"))
    console = Console(stderr=stderr, color_system=None if no_color else "auto", no_color=no_color)
    if not console.is_terminal:
        console = Console(stderr=stderr, width=PIPE_WIDTH, color_system=None if no_color else "auto", no_color=no_color)
    return console
