"""Configuration values computed when the build starts (``config-inited``), not in conf.py.

- ``build_date``: the date of the last commit, so that a rebuild of the same commit shows
  the same date (today's date outside a git checkout); ``copyright`` is "<its year>,
  <author>" unless conf.py sets one. The footer's ``{release}`` and ``{build_date}`` are
  filled in (its ``{cite}`` is per page: ``site_tweaks``).
- ``BOOK_ONLY="lstm/*,errata*"`` builds the front page and the matching pages only, a
  quick loop while writing one part: the other pages are excluded, and the warnings of
  the toctree and of references then pointing at missing pages are silenced in that mode
  only. `make html` always builds the whole book.
"""

from __future__ import annotations

import datetime
import fnmatch
import os
import subprocess
from pathlib import Path

#: What a partial build (BOOK_ONLY) silences: links into the pages left out.
BOOK_ONLY_SILENCED = [
    "toc.excluded",
    "toc.not_readable",
    "toc.not_included",
    "ref.eq",
    "ref.ref",
    "ref.doc",
    "bibtex",
]


def last_commit_date(root: Path) -> str:
    """The date of the last commit (YYYY-MM-DD), or today's outside a git checkout."""
    try:
        out = subprocess.run(
            ["git", "log", "-1", "--format=%cs"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
        )
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.strip()
    except OSError:
        pass
    return datetime.date.today().isoformat()


def pages_left_out(srcdir: Path, book_only: str) -> list[str]:
    """The pages (as exclude patterns) that BOOK_ONLY's comma-separated patterns, with
    the front page, do not match."""
    keep = ["index"] + [p.strip() for p in book_only.split(",") if p.strip()]
    out = []
    for page in sorted(srcdir.rglob("*.md")):
        name = page.relative_to(srcdir).with_suffix("").as_posix()
        if not any(fnmatch.fnmatch(name, pat) for pat in keep):
            out.append(name + ".md")
    return out


def _compute(app, config):
    if not config.build_date:
        config.build_date = last_commit_date(Path(app.confdir))
    if not config.copyright:
        config.copyright = f"{config.build_date[:4]}, {config.author}"
    footer = config.html_theme_options.get("extra_footer")
    if footer:
        config.html_theme_options["extra_footer"] = footer.replace(
            "{release}", config.release
        ).replace("{build_date}", config.build_date)
    book_only = os.environ.get("BOOK_ONLY", "")
    if book_only:
        config.exclude_patterns = [
            *config.exclude_patterns,
            *pages_left_out(Path(app.srcdir), book_only),
        ]
        config.suppress_warnings = [*config.suppress_warnings, *BOOK_ONLY_SILENCED]


def setup(app):
    app.add_config_value("build_date", "", "html")
    app.connect("config-inited", _compute)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
