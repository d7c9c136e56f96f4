"""``explorer.html``: the exact neural-ODE trajectories of the report, animated.

Experiments record trajectories with :meth:`Context.trajectories` (the states come
from :func:`controlml.node.flow` with ``return_trajectory=True``), written as JSON
under ``explorer/``.  This page inlines those JSON documents (a page opened from
the folder may not fetch files) and only draws them: a data-set menu, a time slider,
play/pause, the current piece (W, A, b) and the switch times.  Plain JavaScript and
a canvas; no build step, no network.

For tests and for readers who want the numbers, ``window.controlmlExplorer`` exposes
``select(i)``, ``setFrame(k)`` and ``current()`` (the data set, the sample index, the
time and the positions drawn).
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from .._io import atomic_write_text
from ._runner import ExperimentResult

__all__ = ["write_explorer"]

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:1em 2em;color:#222}
.row{display:flex;flex-wrap:wrap;gap:1.5em;align-items:flex-start}
canvas{border:1px solid #ccc;background:#fff;max-width:100%}
#panel{min-width:320px;max-width:460px;font-size:.9em}
#panel pre{background:#f6f8fa;padding:.5em;overflow:auto;max-height:280px;font-size:.85em}
label{display:block;margin:.6em 0 .2em 0;font-weight:600}
input[type=range]{width:100%} select{max-width:100%}
.switches span{display:inline-block;margin:0 .3em .2em 0;padding:0 .3em;border-radius:3px;
 background:#eee} .switches span.cur{background:#1a4d8f;color:#fff}
"""

_JS = r"""
(function(){
const DATA = JSON.parse(document.getElementById('explorer-data').textContent);
const canvas = document.getElementById('view'), g = canvas.getContext('2d');
const sel = document.getElementById('dataset'), slider = document.getElementById('frame');
const play = document.getElementById('play');
let cur = 0, frame = 0, timer = null, box = null, drawn = [];
DATA.forEach((d, i) => { const o = document.createElement('option'); o.value = i;
  o.textContent = d.experiment + ': ' + d.label; sel.appendChild(o); });
function bounds(d){ // the data's region: the inputs, the outputs and the targets
  const pts = d.X[0].concat(d.X[d.X.length-1], d.Y || []);
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  pts.forEach(p => { x0 = Math.min(x0, p[0]); x1 = Math.max(x1, p[0]);
    const y = p.length > 1 ? p[1] : 0; y0 = Math.min(y0, y); y1 = Math.max(y1, y); });
  const cx = (x0+x1)/2, cy = (y0+y1)/2, h = Math.max(x1-x0, y1-y0, 1e-9)*0.65;
  return [cx-h, cx+h, cy-h, cy+h]; }
function px(p){ const [x0,x1,y0,y1] = box, W = canvas.width, H = canvas.height;
  const u = (p[0]-x0)/(x1-x0), v = ((p.length > 1 ? p[1] : 0)-y0)/(y1-y0);
  return [Math.min(W-2, Math.max(2, u*W)), Math.min(H-2, Math.max(2, (1-v)*H))]; }
function pieceAt(d, t){ const s = d.switch_times; for (let i = 0; i < s.length-1; i++) {
  if (t < s[i+1] - 1e-12) return i; } return s.length-2; }
function fmt(M){ if (!Array.isArray(M)) return (+M).toPrecision(4);
  return '[' + M.map(fmt).join(', ') + ']'; }
function draw(){ const d = DATA[cur], F = d.X[frame], t = d.t[frame];
  g.clearRect(0, 0, canvas.width, canvas.height);
  const k = pieceAt(d, t), P = d.pieces[k];
  if (d.dim === 2) { g.strokeStyle = '#c62828'; g.setLineDash([5,4]);
    P.A.forEach((a, j) => { const b = P.b[j], [x0,x1,y0,y1] = box; g.beginPath();
      if (Math.abs(a[1]) > Math.abs(a[0])) { const f = x => -(a[0]*x + b)/a[1];
        const p0 = px([x0, f(x0)]), p1 = px([x1, f(x1)]); g.moveTo(...p0); g.lineTo(...p1); }
      else { const f = y => -(a[1]*y + b)/a[0];
        const p0 = px([f(y0), y0]), p1 = px([f(y1), y1]); g.moveTo(...p0); g.lineTo(...p1); }
      g.stroke(); }); g.setLineDash([]); }
  if (d.X[0].length <= 400) { g.strokeStyle = 'rgba(120,120,120,.35)'; g.lineWidth = 1;
    d.X[0].forEach((_, i) => { g.beginPath(); g.moveTo(...px(d.X[0][i]));
      for (let s = 1; s <= frame; s++) g.lineTo(...px(d.X[s][i])); g.stroke(); }); }
  if (d.Y) { g.strokeStyle = '#2e7d32'; g.lineWidth = 2; d.Y.forEach(p => { const [u,v] = px(p);
    g.strokeRect(u-5, v-5, 10, 10); }); g.lineWidth = 1; }
  g.fillStyle = 'rgba(26,77,143,.85)'; drawn = F.map(p => p.slice());
  F.forEach(p => { const [u,v] = px(p); g.beginPath(); g.arc(u, v, 3, 0, 2*Math.PI); g.fill(); });
  document.getElementById('time').textContent = 't = ' + t.toFixed(4) + ' / T = ' +
    d.t[d.t.length-1].toFixed(4) + ' (sample ' + frame + ' of ' + (d.t.length-1) + ')';
  document.getElementById('piece').textContent = 'piece ' + (k+1) + ' of ' + d.pieces.length +
    ', duration ' + (+P.duration).toPrecision(4) + '\nW = ' + fmt(P.W) + '\nA = ' + fmt(P.A) +
    '\nb = ' + fmt(P.b);
  document.getElementById('switches').innerHTML = d.switch_times.slice(1, -1).map((s, i) =>
    '<span class="' + (i+1 === k ? 'cur' : '') + '">' + (+s).toPrecision(4) + '</span>').join('')
    || '<i>none: one piece</i>'; }
function select(i){ cur = +i; frame = 0; box = bounds(DATA[cur]); sel.value = cur;
  slider.max = DATA[cur].t.length - 1; slider.value = 0;
  document.getElementById('dim').textContent = DATA[cur].dim > 2 ?
    'd = ' + DATA[cur].dim + ': the first two coordinates are shown' : ''; draw(); }
function setFrame(k){ frame = Math.max(0, Math.min(DATA[cur].t.length - 1, +k));
  slider.value = frame; draw(); }
sel.addEventListener('change', () => select(sel.value));
slider.addEventListener('input', () => setFrame(slider.value));
play.addEventListener('click', () => { if (timer) { clearInterval(timer); timer = null;
  play.textContent = 'Play'; return; } play.textContent = 'Pause';
  timer = setInterval(() => { if (frame >= DATA[cur].t.length - 1) frame = -1; setFrame(frame + 1);
  }, 60); });
window.controlmlExplorer = { select, setFrame, data: DATA,
  current: () => ({dataset: cur, frame, t: DATA[cur].t[frame], points: drawn}) };
const want = decodeURIComponent(location.hash.slice(1));
const start = DATA.findIndex(d => d.experiment === want);
select(start >= 0 ? start : 0);
})();
"""


def write_explorer(results: list[ExperimentResult], out_dir: str | Path) -> Path:
    """Write ``out_dir/explorer.html`` from the trajectory JSON files the experiments wrote.

    Parameters
    ----------
    results : list of ExperimentResult
        Their ``explorer`` lists name JSON files relative to ``out_dir``.
    out_dir : path
        The report folder.

    Returns
    -------
    pathlib.Path
        The page's path.
    """
    out_dir = Path(out_dir)
    docs = [json.loads((out_dir / rel).read_text("utf-8")) for r in results for rel in r.explorer]
    # "</" cannot end the inline script early: JSON allows the escaped slash.
    blob = json.dumps(docs, separators=(",", ":")).replace("</", "<\\/")
    names = ", ".join(sorted({d["experiment"] for d in docs}))
    page = ("<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            "<title>controlml flow explorer</title>"
            f"<style>{_CSS}</style></head><body>"
            "<h1>Flow explorer</h1>"
            f"<p>Exact trajectories of the neural ODE x' = W&sigma;(Ax + b) computed by "
            f"<code>controlml.node.flow</code> in {html.escape(names)}; the page only draws "
            "them. Dashed red: the hyperplanes a&middot;x + b = 0 of the current piece; green "
            "squares: targets; points that leave the window are drawn on its edge. <a href='index.html'>Back to the report</a>.</p>"
            "<div class='row'><canvas id='view' width='640' height='640'></canvas>"
            "<div id='panel'><label for='dataset'>Data set</label><select id='dataset'></select>"
            "<p id='dim'></p><label for='frame'>Time</label>"
            "<input type='range' id='frame' min='0' max='0' value='0' step='1'>"
            "<p><button id='play' type='button'>Play</button> <span id='time'></span></p>"
            "<label>Current piece</label><pre id='piece'></pre>"
            "<label>Switch times</label><div id='switches' class='switches'></div></div></div>"
            f"<script type='application/json' id='explorer-data'>{blob}</script>"
            f"<script>{_JS}</script></body></html>")
    return atomic_write_text(out_dir / "explorer.html", page)
