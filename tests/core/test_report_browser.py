"""The report as a reader sees it: a --quick report opened in headless Chromium.

Debian's ``chromium`` (installed by ``.ci/run`` when missing) is driven through
Playwright for Python with ``executable_path``: no browser is downloaded.  The test
skips, with the reason, only where no Chromium can be found.

Screenshots of the report and of the flow explorer are written next to the report
(``<tmp>/report/screenshot-index.png``, ``screenshot-explorer.png``) and their paths
printed (``pytest -s`` shows them).
"""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest

from controlml.reproduce import reproduce, results_schema

NAMES = ["fig3.1", "thm3.1", "sentiment"]


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return os.environ.get("CONTROLML_CHROMIUM")


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("browser") / "report"
    rep = reproduce(NAMES, quick=True, out=out, progress=False)
    assert {r.status for r in rep.results} <= {"passed", "skipped"}
    assert any(r.status == "skipped" for r in rep.results)  # the sentiment corpus is not given
    return out


@pytest.fixture(scope="module")
def browser():
    exe = _chromium()
    if exe is None:
        pytest.skip("no Chromium found (apt-get install chromium); .ci/run installs it")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=exe, headless=True,
                               args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


def _open(browser, path):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("request", lambda r: errors.append("network: " + r.url)
            if not r.url.startswith(("file:", "data:", "about:")) else None)
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return page, errors


def test_results_json_follows_the_shipped_schema(report):
    jsonschema = pytest.importorskip("jsonschema")
    data = json.loads((report / "results.json").read_text())
    jsonschema.validate(data, results_schema())
    bad = dict(data, meta=dict(data["meta"], counts={"passed": -1}))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, results_schema())


def test_report_in_a_real_browser(report, browser):
    data = json.loads((report / "results.json").read_text())
    page, errors = _open(browser, report / "index.html")
    # every figure loads (lazy images load once scrolled into view)
    imgs = page.locator("img")
    n = imgs.count()
    assert n == sum(len(e["figures"]) for e in data["experiments"]) > 0
    for i in range(n):
        imgs.nth(i).scroll_into_view_if_needed()
        page.wait_for_function("img => img.complete", arg=imgs.nth(i).element_handle())
        assert imgs.nth(i).evaluate("img => img.naturalWidth * img.naturalHeight") > 0
    # every check row of results.json is in the page with its status
    for exp in data["experiments"]:
        block = page.locator(f"details[data-name='{exp['name']}']")
        assert block.count() == 1 and block.get_attribute("data-status") == exp["status"]
        rows = block.locator("tr[data-check]")
        assert rows.count() == len(exp["checks"])
        for i, chk in enumerate(exp["checks"]):
            row = block.locator(f"tr[data-check='{i}']")
            assert chk["claim"] in row.inner_text()
            assert row.locator("td.holds").inner_text() == ("yes" if chk["holds"] else "NO")
        if exp["status"] == "skipped":
            assert exp["error"].split()[0] in block.inner_text()
    # the table of contents: every entry lands on its section, which is shown open
    links = page.locator("nav#toc a[href^='#']")
    assert links.count() >= len(data["experiments"]) + 1
    for i in range(links.count()):
        href = links.nth(i).get_attribute("href")
        links.nth(i).click()
        target = page.locator(href)
        top = target.evaluate("el => el.getBoundingClientRect().top")
        at_bottom = page.evaluate("Math.ceil(window.scrollY + window.innerHeight) >= "
                                  "document.documentElement.scrollHeight - 1")
        assert abs(top) < 5 or (at_bottom and 0 <= top < 900), (href, top)
        assert page.evaluate("location.hash") == href
        if target.evaluate("el => el.tagName") == "DETAILS":
            assert target.evaluate("el => el.open")
    page.screenshot(path=str(report / "screenshot-index.png"), full_page=False)
    print("report screenshot:", report / "screenshot-index.png")
    assert errors == []


def test_flow_explorer_animates_the_library_trajectories(report, browser):
    page, errors = _open(browser, report / "explorer.html")
    docs = page.evaluate("window.controlmlExplorer.data")
    files = sorted(p.name for p in (report / "explorer").iterdir())
    assert len(docs) == len(files) >= 4  # fig3.1's three movements and thm3.1
    i = next(k for k, d in enumerate(docs) if d["experiment"] == "thm3.1")
    ref = json.loads((report / "explorer" / "thm3.1-1.json").read_text())
    page.select_option("#dataset", str(i))
    slider = page.locator("#frame")
    K = len(ref["t"])
    assert int(slider.get_attribute("max")) == K - 1
    seen = []
    for k in (K // 3, K - 1):
        slider.evaluate("(el, k) => { el.value = k; el.dispatchEvent(new Event('input')); }", k)
        cur = page.evaluate("window.controlmlExplorer.current()")
        assert cur["frame"] == k and cur["t"] == pytest.approx(ref["t"][k])
        np.testing.assert_allclose(cur["points"], np.asarray(ref["X"][k]), rtol=0, atol=1e-12)
        seen.append(np.asarray(cur["points"]))
        assert f"sample {k} of {K - 1}" in page.inner_text("#time")
    assert np.abs(seen[0] - seen[1]).max() > 1e-3  # the slider moves the points
    # the last sample is the flow map: the targets are reached (Thm 3.1)
    np.testing.assert_allclose(seen[1], np.asarray(ref["Y"]), atol=1e-6)
    assert "W = " in page.inner_text("#piece")
    page.screenshot(path=str(report / "screenshot-explorer.png"))
    print("explorer screenshot:", report / "screenshot-explorer.png")
    assert errors == []
