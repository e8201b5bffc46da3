"""What `make pdf` needs beyond pip: TeX, fonts and two small tools, as Debian packages.

``python tools/check_tex.py`` exits 0 when everything is there; otherwise it names the
missing Debian packages (what each is for) and the command that installs them, and exits
1. ``--missing`` prints only the names of the missing packages, one line, for `.ci/run`.
``--list`` prints every package. The README lists the same packages (a test holds it).
"""

from __future__ import annotations

import shutil
import subprocess
import sys

#: Debian package -> (what `make pdf` uses it for, its probes). A probe is a command
#: ("cmd:xelatex"), a TeX file that kpsewhich must find ("tex:fncychap.sty") or a font
#: family that fontconfig must know ("font:FreeSerif").
PACKAGES: dict[str, tuple[str, list[str]]] = {
    "latexmk": ("runs XeLaTeX as often as the references need", ["cmd:latexmk"]),
    "texlive-xetex": ("XeLaTeX, for the Unicode of the pages", ["cmd:xelatex"]),
    "texlive-latex-recommended": (
        "LaTeX packages Sphinx loads (fontspec, polyglossia, fancyvrb)",
        ["tex:fontspec.sty", "tex:polyglossia.sty", "tex:fancyvrb.sty"],
    ),
    "texlive-latex-extra": (
        "LaTeX packages Sphinx loads (fncychap, tabulary, titlesec, needspace)",
        ["tex:fncychap.sty", "tex:tabulary.sty", "tex:titlesec.sty"],
    ),
    "texlive-fonts-recommended": ("the symbols Sphinx's boxes use", ["tex:pzdr.tfm"]),
    "fonts-freefont-otf": ("the text font, FreeSerif", ["font:FreeSerif"]),
    "fonts-dejavu-core": (
        "headings and code, DejaVu Sans and Sans Mono (every character of the cells)",
        ["font:DejaVu Sans", "font:DejaVu Sans Mono"],
    ),
    "fontconfig": ("fc-list, with which this check finds the fonts", ["cmd:fc-list"]),
    "librsvg2-bin": ("rsvg-convert: SVG plots drawn as PDF", ["cmd:rsvg-convert"]),
    "poppler-utils": (
        "pdfinfo and pdftotext: the page count, the tests",
        ["cmd:pdfinfo"],
    ),
}


def _found(probe: str) -> bool:
    kind, _, name = probe.partition(":")
    if kind == "cmd":
        return shutil.which(name) is not None
    tool = {"tex": "kpsewhich", "font": "fc-list"}[kind]
    if shutil.which(tool) is None:
        return False
    # fc-list -q exits 1 when no font of the family is installed.
    args = [tool, name] if kind == "tex" else [tool, "-q", name]
    done = subprocess.run(args, capture_output=True, text=True)
    return done.returncode == 0 and (kind == "font" or bool(done.stdout.strip()))


def missing() -> list[str]:
    """The Debian packages one of whose probes fails."""
    return [
        package
        for package, (_why, probes) in PACKAGES.items()
        if not all(_found(p) for p in probes)
    ]


def message(absent: list[str]) -> str:
    lines = [
        "make pdf needs TeX, fonts and two tools that pip does not install; missing:",
        *(f"  {p:27} {PACKAGES[p][0]}" for p in absent),
        "On Debian or Ubuntu, install them with:",
        "  sudo apt-get install --no-install-recommends " + " ".join(absent),
        "(README.md, section 'The PDF and the notebooks', lists them all.)",
    ]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if "--list" in argv:
        print(" ".join(PACKAGES))
        return 0
    absent = missing()
    if "--missing" in argv:
        print(" ".join(absent))
        return 0
    if absent:
        print(message(absent), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
