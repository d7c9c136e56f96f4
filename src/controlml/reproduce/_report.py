"""The report writer: ``index.html`` (sections in paper order), ``results.json`` and the
flow explorer ``explorer.html``.

The page is self-contained (inline CSS and JavaScript, no CDN, no network): it opens
from the folder.  A sticky table of contents lists the paper's sections and every
experiment with its status and check count; a summary matrix opens the page; each
experiment is a collapsible block with the paper's caption beside its figures
(lazy-loaded) and its check table.  ``results.json`` follows the JSON Schema shipped
as ``controlml/reproduce/results.schema.json``.
"""

from __future__ import annotations

import datetime as _dt
import html
import json
import math
import platform
from importlib import resources
from pathlib import Path
from typing import Any

from .._io import atomic_write_json, atomic_write_text
from ._registry import SECTIONS
from ._runner import ExperimentResult

__all__ = ["write_report", "format_value", "results_schema"]

_STATUSES = ("passed", "failed", "error", "skipped")

_CSS = """
:root{--ok:#2e7d32;--bad:#c62828;--skip:#757575;--line:#ddd}
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:0;color:#222;line-height:1.4}
.layout{display:grid;grid-template-columns:270px minmax(0,1fr);gap:0}
nav#toc{position:sticky;top:0;align-self:start;max-height:100vh;overflow:auto;padding:1em .8em;
 border-right:1px solid var(--line);background:#fafafa;font-size:.86em}
nav#toc h2{font-size:1em;margin:.8em 0 .3em 0;border:none}
nav#toc ul{list-style:none;margin:0;padding:0} nav#toc li{margin:.15em 0}
nav#toc a{color:#1a4d8f;text-decoration:none} nav#toc a:hover{text-decoration:underline}
main{padding:1em 2em;max-width:1200px}
h1{margin-bottom:.2em} h2{border-bottom:2px solid var(--line);padding-bottom:.2em;margin-top:1.6em}
details.exp{border:1px solid var(--line);border-radius:6px;padding:.4em 1em;margin:1em 0}
details.exp>summary{cursor:pointer;font-weight:600;font-size:1.05em;padding:.3em 0}
.badge{font-size:.78em;padding:.1em .45em;border-radius:4px;color:#fff;font-weight:600}
.passed{background:var(--ok)}.failed,.error{background:var(--bad)}.skipped{background:var(--skip)}
.count{color:#555;font-size:.85em}
table{border-collapse:collapse;width:100%;margin:.5em 0;font-size:.9em}
td,th{border:1px solid var(--line);padding:.25em .5em;text-align:left;vertical-align:top}
tr.ok td.holds{background:#e8f5e9;color:#1b5e20;font-weight:600}
tr.bad td.holds{background:#ffebee;color:#b71c1c;font-weight:600}
table.matrix td.num{text-align:right}
.figrow{display:flex;flex-wrap:wrap;gap:1em;align-items:flex-start;margin:.6em 0}
.figrow figure{flex:1 1 560px;margin:0;max-width:100%}
.figrow figure img{max-width:100%;border:1px solid #eee}
.figrow aside{flex:0 1 300px;font-size:.88em;color:#444;background:#f6f8fa;padding:.6em .8em;
 border-radius:4px}
figcaption{font-size:.85em;color:#555}
.caption{color:#444;font-style:italic} pre{background:#fff3f3;padding:.5em;overflow:auto;font-size:.8em;
 white-space:pre-wrap}
.notes p{font-size:.92em}
@media (max-width:900px){.layout{grid-template-columns:1fr} nav#toc{position:static;max-height:none}}
@media print{nav#toc{display:none}.layout{display:block} main{max-width:none;padding:0}
 details.exp{break-inside:avoid-page;border:none} details.exp>summary{list-style:none}
 .figrow figure{flex-basis:100%} a{color:inherit;text-decoration:none}}
"""

_PRINT_JS = """
window.addEventListener('beforeprint',()=>{document.querySelectorAll('details.exp').forEach(d=>{
  d.dataset.wasOpen=d.open?'1':'0';d.open=true;});});
window.addEventListener('afterprint',()=>{document.querySelectorAll('details.exp').forEach(d=>{
  d.open=d.dataset.wasOpen==='1';});});
document.querySelectorAll('nav#toc a[href^="#"]').forEach(a=>a.addEventListener('click',()=>{
  const t=document.getElementById(a.getAttribute('href').slice(1));
  if(t&&t.tagName==='DETAILS'){t.open=true;}}));
"""


def results_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) that ``results.json`` follows."""
    text = resources.files("controlml.reproduce").joinpath("results.schema.json").read_text("utf-8")
    return json.loads(text)


def format_value(v: Any) -> str:
    """Numbers with 4 significant digits (integers exactly), everything else as text.

    Parameters
    ----------
    v : object
        A check's paper or measured value: bool, int, float, a list or tuple of those, or
        anything printable.

    Returns
    -------
    str

    Examples
    --------
    >>> format_value(0.000123456), format_value([1, 2.5]), format_value(True)
    ('1.235e-04', '[1, 2.5]', 'yes')
    """
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


def _anchor(name: str) -> str:
    return "exp-" + "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)


def _count(r: ExperimentResult) -> str:
    return f"{sum(c.holds for c in r.checks)}/{len(r.checks)}"


def _badge(status: str) -> str:
    return f'<span class="badge {status}">{status}</span>'


def _checks_html(r: ExperimentResult) -> str:
    e = html.escape
    rows = ['<table class="checks"><tr><th>claim</th><th>paper</th><th>measured</th>'
            "<th>holds</th></tr>"]
    for i, c in enumerate(r.checks):
        cls = "ok" if c.holds else "bad"
        rows.append(f'<tr class="{cls}" data-check="{i}"><td>{e(c.claim)}</td>'
                    f"<td>{e(format_value(c.paper))}</td><td>{e(format_value(c.measured))}</td>"
                    f'<td class="holds">{"yes" if c.holds else "NO"}</td></tr>')
    rows.append("</table>")
    return "\n".join(rows)


def _exp_html(r: ExperimentResult) -> str:
    e = html.escape
    parts = [f'<details class="exp" id="{_anchor(r.name)}" data-name="{e(r.name)}" '
             f'data-status="{r.status}" open>',
             f"<summary>{e(r.name)}: {e(r.title)} {_badge(r.status)} "
             f'<span class="count">{_count(r)} checks &middot; {r.seconds:.1f} s</span></summary>']
    if r.caption and not r.figures:
        parts.append(f'<p class="caption">{e(r.caption)}</p>')
    if r.notes:
        parts.append('<div class="notes">' + "".join(f"<p>{e(n)}</p>" for n in r.notes) + "</div>")
    for k, f in enumerate(r.figures):
        aside = (f'<aside><b>Paper:</b> <span class="caption">{e(r.caption)}</span></aside>'
                 if r.caption and k == 0 else "")
        parts.append(f'<div class="figrow"><figure><img src="{e(f.path)}" loading="lazy" '
                     f'alt="{e(r.name)}: {e(f.caption)}"><figcaption>{e(f.caption)}</figcaption>'
                     f"</figure>{aside}</div>")
    if r.explorer:
        parts.append(f'<p><a href="explorer.html#{e(r.name)}">Animate these flows in the flow '
                     "explorer</a> (exact trajectories).</p>")
    if r.checks:
        parts.append(_checks_html(r))
    if r.error:
        label = "skipped because" if r.status == "skipped" else "error"
        parts.append(f"<p><b>{label}:</b></p><pre>{e(r.error)}</pre>")
    parts.append("</details>")
    return "\n".join(parts)


def _toc_html(results: list[ExperimentResult]) -> str:
    e = html.escape
    out = ['<nav id="toc" aria-label="Contents"><b>Contents</b>',
           '<ul><li><a href="#summary">Summary</a></li>'
           + ('<li><a href="explorer.html">Flow explorer</a></li>'
              if any(r.explorer for r in results) else "") + "</ul>"]
    for key, title in SECTIONS.items():
        rs = [r for r in results if r.section == key]
        if not rs:
            continue
        out.append(f'<h2><a href="#sec-{key}">{e(title)}</a></h2><ul>')
        out.extend(f'<li><a href="#{_anchor(r.name)}">{e(r.name)}</a> {_badge(r.status)} '
                   f'<span class="count">{_count(r)}</span></li>' for r in rs)
        out.append("</ul>")
    out.append("</nav>")
    return "\n".join(out)


def _matrix_html(results: list[ExperimentResult]) -> str:
    e = html.escape
    rows = ['<table class="matrix" id="summary-matrix"><tr><th>experiment</th><th>section</th>'
            "<th>status</th><th>checks holding</th><th>checks failing</th><th>time (s)</th></tr>"]
    for r in results:
        bad = sum(not c.holds for c in r.checks)
        rows.append(f'<tr data-name="{e(r.name)}"><td><a href="#{_anchor(r.name)}">{e(r.name)}</a>'
                    f"</td><td>{e(r.section)}</td><td>{_badge(r.status)}</td>"
                    f'<td class="num">{len(r.checks) - bad}</td><td class="num">{bad}</td>'
                    f'<td class="num">{r.seconds:.1f}</td></tr>')
    rows.append("</table>")
    return "\n".join(rows)


def write_report(results: list[ExperimentResult], out_dir: str | Path, *, quick: bool) -> Path:
    """Write ``out_dir/index.html``, ``results.json`` and (when any experiment recorded
    trajectories) ``explorer.html``; return the path of ``index.html``.

    Parameters
    ----------
    results : list of ExperimentResult
        What :func:`run_experiments` returned, in registry order.
    out_dir : path
        The report folder (figures and explorer data are already inside it).
    quick : bool
        Whether the run used ``--quick`` sizes (shown on the page).
    """
    from .. import __version__

    out_dir = Path(out_dir)
    counts = {s: sum(r.status == s for r in results) for s in _STATUSES}
    nchecks = sum(len(r.checks) for r in results)
    nok = sum(c.holds for r in results for c in r.checks)
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    meta = {"controlml": __version__, "python": platform.python_version(), "quick": quick,
            "created": stamp, "counts": counts, "checks_total": nchecks, "checks_holding": nok,
            "seconds": round(sum(r.seconds for r in results), 3)}
    body = ["<h1>controlml: reproduction of <i>Machine Learning and Control</i> (Zuazua)</h1>",
            f"<p>controlml {html.escape(__version__)} &middot; {stamp} &middot; "
            f"{'quick sizes (--quick)' if quick else 'full sizes'}</p>",
            '<section id="summary"><h2>Summary</h2><p>' +
            " ".join(f"{_badge(k)} {v}" for k, v in counts.items()) +
            f" &middot; checks holding: <b>{nok} / {nchecks}</b></p>" + _matrix_html(results) +
            "</section>"]
    for key, title in SECTIONS.items():
        rs = [r for r in results if r.section == key]
        if not rs:
            continue
        body.append(f'<h2 id="sec-{key}">{html.escape(title)}</h2>')
        body.extend(_exp_html(r) for r in rs)
    page = ("<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>controlml report</title><style>{_CSS}</style></head><body>"
            f'<div class="layout">{_toc_html(results)}<main>' + "\n".join(body) +
            f"</main></div><script>{_PRINT_JS}</script></body></html>")
    atomic_write_json(out_dir / "results.json",
                      {"meta": meta, "experiments": [r.to_dict() for r in results]})
    if any(r.explorer for r in results):
        from ._explorer import write_explorer

        write_explorer(results, out_dir)
    return atomic_write_text(out_dir / "index.html", page)
