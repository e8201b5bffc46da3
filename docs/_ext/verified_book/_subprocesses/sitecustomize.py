"""Run at the start of every Python process a page starts (this folder goes first on
their PYTHONPATH, ``execution``): the process records which functions of ``lstm_notes``
it runs, for the page's dependencies (``verified_book.deps``)."""

import os
import sys

if os.environ.get("VERIFIED_BOOK_RAN_DIR"):
    from importlib.util import find_spec
    from pathlib import Path

    _ext = str(Path(__file__).resolve().parents[2])
    sys.path.insert(0, _ext)
    try:
        from verified_book import deps

        _spec = find_spec(deps.PACKAGE)
        if _spec is not None and _spec.origin:
            deps.record_this_process(
                os.environ["VERIFIED_BOOK_RAN_DIR"], Path(_spec.origin).parents[1]
            )
    finally:
        sys.path.remove(_ext)
