"""The JavaScript that the browser tests and ``lib/tools/ohif_segment.py`` run in OHIF's page: one function per file,
each loaded, each valid JavaScript."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from lib.tools import ohif_segment


def test_every_page_script_is_loaded_by_the_driver() -> None:
    files = {path.stem for path in ohif_segment.PAGE_SCRIPTS.glob("*.js")}
    loaded = set(re.findall(r'page_script\("(\w+)"\)', Path(ohif_segment.__file__).read_text()))
    assert files and files == loaded


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed (a syntax check only)")
def test_every_page_script_is_one_valid_javascript_expression(tmp_path: Path) -> None:
    for path in ohif_segment.PAGE_SCRIPTS.glob("*.js"):
        # Playwright evaluates the text as an expression: in parentheses it must still parse (no trailing ';').
        wrapped = tmp_path / path.name
        wrapped.write_text(f"({ohif_segment.page_script(path.stem)}\n);\n")
        subprocess.run(["node", "--check", str(wrapped)], check=True)
