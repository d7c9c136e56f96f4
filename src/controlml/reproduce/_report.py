"""The report writer: ``index.html`` (sections in paper order) and ``results.json``."""

from __future__ import annotations

import datetime as _dt
import html
import math
import platform
from pathlib import Path
from typing import Any

from .._io import atomic_write_json, atomic_write_text
from ._registry import SECTIONS
from ._runner import ExperimentResult

__all__ = ["write_report", "format_value"]

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{margin-bottom:.2em} h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:2em}
.exp{border:1px solid #ddd;border-radius:6px;padding:.8em 1em;margin:1em 0}
.exp h3{margin:.1em 0 .4em 0} .badge{font-size:.8em;padding:.1em .5em;border-radius:4px;color:#fff}
.passed{background:#2e7d32}.failed{background:#c62828}.error{background:#c62828}.skipped{background:#757575}
table{border-collapse:collapse;width:100%;margin:.5em 0;font-size:.92em}
td,th{border:1px solid #ddd;padding:.25em .5em;text-align:left;vertical-align:top}
tr.ok td.holds{background:#e8f5e9;color:#1b5e20;font-weight:600}
tr.bad td.holds{background:#ffebee;color:#b71c1c;font-weight:600}
figure{display:inline-block;margin:.5em;max-width:100%} figure img{max-width:100%;border:1px solid #eee}
figcaption{font-size:.85em;color:#555;max-width:640px}
.caption{color:#444;font-style:italic} pre{background:#fff3f3;padding:.5em;overflow:auto;font-size:.8em}
.summary td{border:none;padding:.1em .8em}
"""


def format_value(v: Any) -> str:
    """Numbers with 4 significant digits (integers exactly), everything else as text."""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e5):
            return f"{v:.3e}"
        return f"{v:.4g}"
    if isinstance(v, list | tuple):
        return "[" + ", ".join(format_value(x) for x in v) + "]"
    return str(v)


def _exp_html(r: ExperimentResult) -> str:
    e = html.escape
    parts = [f'<div class="exp" id="{e(r.name)}"><h3>{e(r.name)}: {e(r.title)} '
             f'<span class="badge {r.status}">{r.status}</span> '
             f'<small>({r.seconds:.1f} s)</small></h3>']
    if r.caption:
        parts.append(f'<p class="caption">{e(r.caption)}</p>')
    for n in r.notes:
        parts.append(f"<p>{e(n)}</p>")
    for f in r.figures:
        parts.append(f'<figure><img src="{e(f.path)}" alt="{e(r.name)}">'
                     f"<figcaption>{e(f.caption)}</figcaption></figure>")
    if r.checks:
        parts.append("<table><tr><th>claim</th><th>paper</th><th>measured</th><th>holds</th></tr>")
        for c in r.checks:
            cls = "ok" if c.holds else "bad"
            parts.append(f'<tr class="{cls}"><td>{e(c.claim)}</td><td>{e(format_value(c.paper))}</td>'
                         f'<td>{e(format_value(c.measured))}</td>'
                         f'<td class="holds">{"yes" if c.holds else "NO"}</td></tr>')
        parts.append("</table>")
    if r.error:
        label = "skipped because" if r.status == "skipped" else "error"
        parts.append(f"<p><b>{label}:</b></p><pre>{e(r.error)}</pre>")
    parts.append("</div>")
    return "\n".join(parts)


def write_report(results: list[ExperimentResult], out_dir: str | Path, *, quick: bool) -> Path:
    """Write ``out_dir/index.html`` and ``out_dir/results.json``; return the HTML path."""
    from .. import __version__

    out_dir = Path(out_dir)
    counts = {s: sum(r.status == s for r in results) for s in ("passed", "failed", "error", "skipped")}
    nchecks = sum(len(r.checks) for r in results)
    nok = sum(c.holds for r in results for c in r.checks)
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    meta = {"controlml": __version__, "python": platform.python_version(), "quick": quick,
            "created": stamp, "counts": counts, "checks_total": nchecks, "checks_holding": nok}
    body = ["<h1>controlml: reproduction of <i>Machine Learning and Control</i> (Zuazua)</h1>",
            f"<p>controlml {html.escape(__version__)} &middot; {stamp} &middot; "
            f"{'quick sizes (--quick)' if quick else 'full sizes'}</p>",
            '<table class="summary"><tr>' +
            "".join(f'<td><span class="badge {k}">{k}</span> {v}</td>' for k, v in counts.items()) +
            f"<td>checks holding: <b>{nok} / {nchecks}</b></td></tr></table>"]
    for key, title in SECTIONS.items():
        rs = [r for r in results if r.section == key]
        if not rs:
            continue
        body.append(f"<h2>{html.escape(title)}</h2>")
        body.extend(_exp_html(r) for r in rs)
    page = ("<!doctype html><html><head><meta charset='utf-8'><title>controlml report</title>"
            f"<style>{_CSS}</style></head><body>" + "\n".join(body) + "</body></html>")
    atomic_write_json(out_dir / "results.json",
                      {"meta": meta, "experiments": [r.to_dict() for r in results]})
    return atomic_write_text(out_dir / "index.html", page)
