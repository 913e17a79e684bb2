"""A regular (non-editable) wheel of plkg works from an empty folder, data read as package data.

The wheel is built from this checkout, installed with ``pip install --target`` into a temporary
folder, and put first on ``PYTHONPATH`` (the checkout's editable finder comes after the path
entries), so ``python -m plkg`` runs the installed copy in a folder with no configs, datasets or
checkpoints next to it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.surface  # no floating-point kernel decides these outcomes

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    base = tmp_path_factory.mktemp("wheel")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(
        pip + ["wheel", "--no-deps", "--no-build-isolation", "-w", str(base / "dist"), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = (base / "dist").glob("plkg-*.whl")
    target = base / "site"
    subprocess.run(pip + ["install", "--no-deps", "--target", str(target), str(wheel)], check=True)
    workdir = base / "empty"
    workdir.mkdir()
    env = dict(os.environ, PYTHONPATH=str(target))
    return target, workdir, env


def _run(installed, *args, timeout=600):
    target, workdir, env = installed
    return subprocess.run(
        [sys.executable, "-m", "plkg", *args],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _json(installed, *args):
    out = _run(installed, *args)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_the_installed_copy_is_the_one_that_runs(installed):
    target, workdir, env = installed
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import plkg, plkg.defaults as d; print(plkg.__file__); print(d.folder('configs'))",
        ],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    module, configs = out.stdout.split()
    assert Path(module).is_relative_to(target) and Path(configs).is_relative_to(target)


def test_scenario_and_keyrate_with_committed_checkpoints(installed):
    summary = _json(installed, "scenario", "--scenario", "fig6", "--json")
    assert summary["scenario"] == "fig6"
    for method in ("fnnpa", "fnnpakf"):
        result = _json(
            installed,
            "keyrate",
            "--scenario",
            "fig6",
            "--pa-dbm",
            "5",
            "--method",
            method,
            "--json",
        )
        assert result["method"] == method and result["sum_kr_bits"] > 0


def test_ris_reproduce_list_and_bench(installed):
    ris = _json(installed, "ris", "--scenario", "two-cell", "--json")
    assert ris
    listing = _run(installed, "reproduce", "list")
    assert listing.returncode == 0 and "nf-fig6-sum" in listing.stdout
    bench = _run(installed, "bench", "allocation", "--json", "--quick")
    assert bench.returncode == 0, bench.stderr
    json.loads(bench.stdout)


def test_nothing_is_written_next_to_the_installed_code(installed):
    target, workdir, _ = installed
    data = target / "plkg" / "defaults"
    before = sorted(p.name for p in data.rglob("*") if p.is_file())
    _run(installed, "keyrate", "--scenario", "fig6", "--pa-dbm", "0", "--method", "wfpa")
    assert sorted(p.name for p in data.rglob("*") if p.is_file()) == before
