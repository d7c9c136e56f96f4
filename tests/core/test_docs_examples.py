"""Every code block of the documentation runs, and what it states is asserted.

Each ```python block of ``docs/*.md`` runs in the repository root, the blocks of one
page in one namespace and in page order, with warnings as errors.  Pages state their
outputs as ``assert`` lines (not as comments), so a changed result fails here.  A page
whose example reads the user-supplied sentiment corpus skips where that corpus
(``../shared/data``) is absent.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted(p for p in (ROOT / "docs").glob("*.md"))
DATA = ROOT.parent / "shared" / "data"


def _blocks(page: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), flags=re.S)


def test_every_page_with_an_api_has_an_example():
    no_example = {"checks.md", "benchmarks.md"}
    missing = [p.name for p in PAGES if p.name not in no_example and not _blocks(p)]
    assert missing == []


@pytest.mark.slow
@pytest.mark.parametrize("page", [p for p in PAGES if _blocks(p)], ids=lambda p: p.name)
def test_docs_code_blocks_run(page, monkeypatch):
    code = "\n".join(_blocks(page))
    if "../shared/data" in code and not DATA.is_dir():
        pytest.skip("the example reads ../shared/data (the sentiment corpus), absent here")
    assert "assert " in code, f"{page.name}: state the example's outputs as asserts"
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace: dict = {"__name__": f"docs_{page.stem}"}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        exec(compile(code, str(page), "exec"), namespace)
    assert os.getcwd() == str(ROOT)
