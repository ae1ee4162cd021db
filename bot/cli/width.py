"""How wide the CLI writes: a terminal's own width, and 120 columns when piped, so tables and help are not cut at 80."""

from __future__ import annotations

import os
import sys
from typing import Final

PIPED_WIDTH: Final = 120


def widen_output() -> None:
    """Rich falls back to 80 columns without a terminal; COLUMNS set by the user always wins."""
    if os.environ.get("COLUMNS", "").isdigit():
        return
    if not sys.stdout.isatty():
        os.environ["COLUMNS"] = str(PIPED_WIDTH)
