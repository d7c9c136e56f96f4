"""Installable like any library: the wheel and sdist build, and the wheel works on its own.

The wheel is built without network (``python -m build --no-isolation``, hatchling from
the dev extra) and installed into a fresh virtual environment whose only view of the
dependencies is this environment's site-packages, added as a plain path (so this
checkout's editable ``controlml`` is *not* visible there).  ``controlml list`` and the
README example then run from the wheel: a file missing from the wheel (the stop-word
list, the JSON schema, the explorer) fails here.
"""

from __future__ import annotations

import re
import shutil
import site
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    pytest.importorskip("build")
    pytest.importorskip("hatchling")
    out = tmp_path_factory.mktemp("dist")
    res = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out),
                          str(ROOT)], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    return out


def test_wheel_and_sdist_hold_the_package_data(dist):
    wheels, sdists = list(dist.glob("*.whl")), list(dist.glob("*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1
    names = set(zipfile.ZipFile(wheels[0]).namelist())
    for need in ("controlml/attention/sentiment/stopwords.txt",
                 "controlml/reproduce/results.schema.json", "controlml/reproduce/_explorer.py",
                 "controlml/cli.py"):
        assert need in names, need
    meta = next(n for n in names if n.endswith(".dist-info/METADATA"))
    text = zipfile.ZipFile(wheels[0]).read(meta).decode()
    assert "Requires-Python: >=3.11" in text
    for extra in ("dev", "docs"):
        assert f"Provides-Extra: {extra}" in text
    for v in ("3.11", "3.12", "3.13"):
        assert f"Programming Language :: Python :: {v}" in text


def test_wheel_installs_and_runs_in_a_fresh_environment(dist, tmp_path):
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    py = env_dir / "bin" / "python"
    target = Path(subprocess.check_output(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True
    ).strip())
    # the dependencies, seen as a plain path: nested .pth files (our editable install) are ignored
    # the fresh environment's own (older) setuptools would shadow the one torch requires
    subprocess.run([str(py), "-m", "pip", "uninstall", "-y", "-q", "setuptools"],
                   capture_output=True, timeout=120)
    (target / "_controlml_test_deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    wheel = next(dist.glob("*.whl"))
    # the extras resolve against what is installed (no index: nothing is downloaded)
    res = subprocess.run([str(py), "-m", "pip", "install", "--no-index", "--quiet",
                          f"controlml[dev,docs] @ {wheel.as_uri()}"],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    where = subprocess.check_output([str(py), "-c", "import controlml; print(controlml.__file__)"],
                                    text=True, cwd=tmp_path).strip()
    assert where.startswith(str(env_dir)), where  # the wheel's copy, not this checkout
    out = subprocess.run([str(env_dir / "bin" / "controlml"), "list"], capture_output=True,
                         text=True, timeout=120, cwd=tmp_path)
    assert out.returncode == 0 and "thm3.3" in out.stdout, out.stderr[-2000:]
    readme = (ROOT / "README.md").read_text()
    code = re.findall(r"```python\n(.*?)```", readme, flags=re.S)[0]
    ran = subprocess.run([str(py), "-c", code], capture_output=True, text=True, timeout=300,
                         cwd=tmp_path)
    assert ran.returncode == 0 and ran.stdout.startswith("exact"), ran.stderr[-2000:]
    from controlml.attention.sentiment import _tokenizer  # noqa: F401  (stop words load here too)

    got = subprocess.run([str(py), "-c", "from controlml.reproduce import results_schema; "
                          "print(results_schema()['title'])"], capture_output=True, text=True,
                         cwd=tmp_path, timeout=120)
    assert got.returncode == 0 and "results.json" in got.stdout, got.stderr[-2000:]


@pytest.mark.parametrize("version", ["3.12", "3.13"])
def test_sources_compile_on_newer_pythons(version, tmp_path):
    # pyenv's versions directly (its shims refuse versions that are not activated)
    found = sorted((Path.home() / ".pyenv" / "versions").glob(f"{version}.*/bin/python{version}"))
    exe = str(found[-1]) if found else shutil.which(f"python{version}")
    if exe is None:
        pytest.skip(f"python{version} is not on this machine")
    res = subprocess.run([exe, "-c", "import sys; print(sys.version_info[:2])"],
                         capture_output=True, text=True, timeout=60)
    if res.returncode != 0:
        pytest.skip(f"python{version} does not run here: {res.stderr.strip()[-200:]}")
    # byte-compile every module with that interpreter (syntax and compile-time checks; the
    # full suite needs torch, whose CPU build here exists for Python 3.11 only)
    res = subprocess.run([exe, "-m", "compileall", "-q", "-d", "src", str(ROOT / "src")],
                         capture_output=True, text=True, timeout=300,
                         env={"PYTHONPYCACHEPREFIX": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
