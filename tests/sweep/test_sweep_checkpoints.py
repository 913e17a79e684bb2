"""Sweeps with a checkpoint per method: validated before anything runs, recorded in the table."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from plkg.channels.nearfield_scenario import load_scenario
from plkg.cli import main
from plkg.sweep.spec import load_spec
from plkg.sweep.table import SPEC_FILE, read_results

pytestmark = pytest.mark.surface

BASE = (
    "system: nearfield\nname: tiny\nn_antennas: 16\nue_distance_m: [6.0, 12.0]\n"
    "ue_angle_rad: [-0.4, 0.5]\nscatter_radius_m: 1.0\nn_scatterers: 8\nccm_draws: 2\n"
)
SPEC = (
    "system: nearfield\nbase: tiny.yaml\ngrid:\n  pa_dbm: [10, 20]\n"
    "methods:\n  - wfpa\n  - {method: fnnpa, checkpoint: my_checkpoints/kglm.safetensors}\n"
)


def write_kglm_checkpoint(path: Path, scenario) -> Path:
    """A KGLM-Net checkpoint bound to ``scenario``: the committed fig6 network's weights with
    ``scenario``'s fingerprint (FNNPA maps the predicted water level onto any design)."""
    from safetensors.numpy import load_file, save

    from plkg import defaults
    from plkg.io.sidecar_hash import with_sidecar_sha256

    source = Path(defaults.checkpoint_path("kglm_fig6"))
    tensors = {k: v for k, v in load_file(str(source)).items() if k.startswith("net.")}
    blob = save(tensors)
    meta = json.loads(source.with_suffix(".json").read_text())
    meta.pop("sidecar_sha256", None)
    meta.update(
        name=path.stem,
        scenario_fingerprint=scenario.fingerprint(),
        scenario_name=scenario.name,
        safetensors_sha256=hashlib.sha256(blob).hexdigest(),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(blob)
    path.with_suffix(".json").write_text(json.dumps(with_sidecar_sha256(meta)))
    return path


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "tiny.yaml").write_text(BASE)
    (tmp_path / "spec.yaml").write_text(SPEC)
    scenario = load_scenario(str(tmp_path / "tiny.yaml"))
    write_kglm_checkpoint(tmp_path / "my_checkpoints" / "kglm.safetensors", scenario)
    return tmp_path


def run(capsys, *argv):
    code = main([*map(str, argv)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err.splitlines()


def test_checkpoint_rows_match_keyrate_and_are_recorded(folder, capsys, monkeypatch):
    monkeypatch.chdir(folder.parent)  # the checkpoint path is relative to the spec's folder
    out = folder / "res.parquet"
    code, _, err = run(capsys, "sweep", folder / "spec.yaml", "--out", out, "--workers", 1)
    assert code == 0, err
    table = read_results(out).to_pylist()
    fnnpa = {r["pa_dbm"]: r for r in table if r["method"] == "fnnpa"}
    assert sorted(fnnpa) == [10.0, 20.0] and all(r["status"] != "error" for r in table)
    ck = folder / "my_checkpoints" / "kglm.safetensors"
    for pa, row in fnnpa.items():
        code, text, err = run(
            capsys, "keyrate", "--scenario", folder / "tiny.yaml", "--method", "fnnpa",
            "--checkpoint", ck, "--pa-dbm", pa, "--json",
        )  # fmt: skip
        assert code == 0, err
        np.testing.assert_allclose(row["kr_bits"], json.loads(text)["kr_bits"], rtol=1e-9)
    record = json.loads((out / SPEC_FILE).read_text())
    sha = hashlib.sha256(ck.read_bytes()).hexdigest()
    assert record["checkpoints"] == {"fnnpa": {"path": str(ck.resolve()), "sha256": sha}}


def test_checkpoint_enters_the_fingerprint(folder, tmp_path):
    spec = load_spec(folder / "spec.yaml")
    plain = load_spec({**_as_dict(folder), "methods": ["wfpa", "fnnpa"]})
    assert spec.checkpoints["fnnpa"]["sha256"] and spec.fingerprint() != plain.fingerprint()


def _as_dict(folder):
    import yaml

    data = yaml.safe_load(SPEC)
    data["base"] = str(folder / "tiny.yaml")
    return data


@pytest.mark.parametrize(
    ("entry", "culprits"),
    [
        ("{method: fnnpa, checkpoint: missing.safetensors}", ["missing.safetensors", "fnnpa"]),
        ("{method: fnnpakf, checkpoint: my_checkpoints/kglm.safetensors}", ["fnnpakf", "'t'"]),
        ("{method: epa, checkpoint: my_checkpoints/kglm.safetensors}", ["epa", "no checkpoint"]),
        ("{method: fnnpa, checkpoint: fig6.safetensors}", ["fig6.safetensors", "fnnpa", "fig6"]),
        ("{method: fnnpa, path: x}", ["method entry"]),
    ],
)
def test_a_wrong_checkpoint_is_one_line(folder, capsys, entry, culprits):
    from plkg import defaults

    fig6 = Path(defaults.checkpoint_path("kglm_fig6"))
    for suffix in (".safetensors", ".json"):  # a checkpoint of another scenario
        (folder / f"fig6{suffix}").write_bytes(fig6.with_suffix(suffix).read_bytes())
    text = SPEC.replace("{method: fnnpa, checkpoint: my_checkpoints/kglm.safetensors}", entry)
    (folder / "bad.yaml").write_text(text)
    out = folder / "bad.parquet"
    code, _, err = run(capsys, "sweep", folder / "bad.yaml", "--out", out, "--workers", 1)
    assert code == 2 and len(err) == 1 and "Traceback" not in err[0], err
    for culprit in culprits:
        assert culprit in err[0], (culprit, err[0])
    assert not out.exists()


def test_a_swept_scenario_refuses_a_bound_checkpoint(folder, capsys):
    text = SPEC.replace("pa_dbm: [10, 20]", "pa_dbm: [10]\n  n_antennas: [16, 20]")
    (folder / "two.yaml").write_text(text)
    code, _, err = run(capsys, "sweep", folder / "two.yaml", "--out", folder / "r", "--workers", 1)
    assert code == 2 and len(err) == 1, err
    assert "kglm.safetensors" in err[0] and "fnnpa" in err[0] and "fingerprint" in err[0]


def test_general_checkpoint_is_checked_by_its_target(folder):
    from plkg import defaults

    general = Path(defaults.checkpoint_path("general_sumrate"))
    data = _as_dict(folder)
    data["methods"] = [{"method": "fnnpa-general", "checkpoint": str(general)}]
    spec = load_spec(data)
    assert (
        spec.checkpoints["fnnpa-general"]["sha256"]
        == hashlib.sha256(general.read_bytes()).hexdigest()
    )
    data["methods"] = [{"method": "fnnpakf-general", "checkpoint": str(general)}]
    with pytest.raises(ValueError, match="of method fnnpakf-general predicts 'mu'"):
        load_spec(data)


@pytest.mark.parametrize(
    ("alias", "canonical"),
    [("cvx-maxmin", "cvxpakf"), ("maxmin", "exact-maxmin")],
)
def test_another_method_name_is_refused_with_the_canonical_one(folder, capsys, alias, canonical):
    (folder / "alias.yaml").write_text(SPEC.replace("  - wfpa\n", f"  - {alias}\n"))
    code, _, err = run(capsys, "sweep", folder / "alias.yaml", "--out", folder / "r")
    assert code == 2 and len(err) == 1, err
    assert f"method {alias!r} is called {canonical!r}" in err[0] and f"write {canonical}" in err[0]


def test_ris_alias_is_refused_with_the_canonical_name():
    spec = {"system": "ris", "base": "ris-two-cell", "methods": ["proposed", "randphase"]}
    with pytest.raises(ValueError, match="'randphase' is called 'rand-phase'"):
        load_spec(spec)
