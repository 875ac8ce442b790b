"""What every benchmark's `python -m bench.<name>` does around its main(): time it, say how long, exit."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import NoReturn


def run_timed(main: Callable[[], int]) -> NoReturn:
    """Run `main`, print how long the bench took, exit with main's code."""
    started = time.monotonic()
    code = main()
    print(f"(bench took {time.monotonic() - started:.0f} s)")
    sys.exit(code)
