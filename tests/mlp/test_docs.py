"""The examples of docs/mlp.md run as written."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_docs_mlp_examples_run(capsys):
    text = (ROOT / "docs" / "mlp.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks
    for code in blocks:
        exec(compile(code, "docs/mlp.md", "exec"), {})
    out = capsys.readouterr().out
    assert "width 2" in out and "width 3" in out
