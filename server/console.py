"""The console the command-line tools print their tables to."""

from __future__ import annotations

import os
from typing import Any

from rich.console import Console

PIPED_WIDTH = 200
"""Columns of standard output when it is not a terminal and ``COLUMNS`` is not set. Rich's default there,
80, folds every cell of a wide table (a league, a list of instruments) into a few characters, CUSIPs
included."""


def output_console(**options: Any) -> Console:
    """Standard output: a terminal's own width, or ``PIPED_WIDTH`` when piped or redirected to a file."""
    console = Console(**options)
    if not console.is_terminal and not os.environ.get("COLUMNS"):
        console = Console(width=PIPED_WIDTH, **options)
    return console
