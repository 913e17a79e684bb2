"""A sweep's checkpoint is the one the spec recorded: the worker checks its SHA-256, and a
checkpoint moved to another path (same SHA-256) resumes the table without an extension."""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest

from plkg.channels.nearfield_scenario import load_scenario
from plkg.cli import main
from plkg.sweep.spec import expand, load_spec
from plkg.sweep.table import SPEC_FILE, read_results
from plkg.sweep.tasks import run_task
from tests.sweep.test_sweep_checkpoints import BASE, SPEC, write_kglm_checkpoint

pytestmark = pytest.mark.surface


@pytest.fixture(autouse=True)
def no_design_cache(monkeypatch):
    monkeypatch.setenv("PLKG_NO_CACHE", "1")


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "tiny.yaml").write_text(BASE)
    (tmp_path / "spec.yaml").write_text(SPEC)
    scenario = load_scenario(str(tmp_path / "tiny.yaml"))
    write_kglm_checkpoint(tmp_path / "my_checkpoints" / "kglm.safetensors", scenario)
    return tmp_path


def test_tasks_carry_the_checkpoint_digest(folder):
    spec = load_spec(folder / "spec.yaml")
    (task,) = expand(spec)
    assert task["checkpoints"] == spec.checkpoints
    assert all(r["status"] != "error" for r in run_task(task))


def replace_weights(path) -> None:
    """Another valid checkpoint at ``path``: perturbed weights and a sidecar that matches them."""
    from safetensors.numpy import load_file, save

    from plkg.io.sidecar_hash import with_sidecar_sha256

    tensors = load_file(str(path))
    name = sorted(tensors)[0]
    tensors[name] = tensors[name] * 1.5
    blob = save(tensors)
    sidecar = path.with_suffix(".json")
    meta = json.loads(sidecar.read_text())
    meta.pop("sidecar_sha256", None)
    meta["safetensors_sha256"] = hashlib.sha256(blob).hexdigest()
    path.write_bytes(blob)
    sidecar.write_text(json.dumps(with_sidecar_sha256(meta)))


def test_a_checkpoint_replaced_after_loading_gives_error_rows(folder):
    (task,) = expand(load_spec(folder / "spec.yaml"))
    ck = folder / "my_checkpoints" / "kglm.safetensors"
    replace_weights(ck)  # valid on its own: only the digest the spec recorded tells
    rows = run_task(task)
    fnnpa = [r for r in rows if r["method"] == "fnnpa"]
    assert fnnpa and all(r["status"] == "error" for r in fnnpa)
    assert all(str(ck) in r["error"] and "SHA-256" in r["error"] for r in fnnpa)
    assert all(r["status"] != "error" for r in rows if r["method"] == "wfpa")


def test_a_missing_checkpoint_gives_error_rows_naming_it(folder):
    (task,) = expand(load_spec(folder / "spec.yaml"))
    ck = folder / "my_checkpoints" / "kglm.safetensors"
    ck.unlink()
    fnnpa = [r for r in run_task(task) if r["method"] == "fnnpa"]
    assert fnnpa and all(r["status"] == "error" and str(ck) in r["error"] for r in fnnpa)


def test_moved_checkpoint_resumes_quietly(folder, capsys):
    out = folder / "res.parquet"
    argv = ["sweep", str(folder / "spec.yaml"), "--out", str(out), "--workers", "1"]
    assert main(argv) == 0
    capsys.readouterr()
    before = read_results(out).to_pylist()
    shutil.move(folder / "my_checkpoints", folder / "moved")
    (folder / "spec.yaml").write_text(SPEC.replace("my_checkpoints/", "moved/"))
    assert main([*argv, "--json"]) == 0
    captured = capsys.readouterr()
    assert "extending" not in captured.err and "row(s) to add" not in captured.err
    summary = json.loads(captured.out)
    assert summary["extended"] is False and summary["ran"] == 0
    record = json.loads((out / SPEC_FILE).read_text())
    assert record["checkpoints"]["fnnpa"]["path"] == str(folder / "moved" / "kglm.safetensors")
    assert read_results(out).to_pylist() == before
