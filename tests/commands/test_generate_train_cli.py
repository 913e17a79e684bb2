"""``plkg generate`` / ``plkg train`` and ``plkg keyrate --method wfpa|fnnpa`` end to end."""

from __future__ import annotations

import json

import pytest
import yaml

from plkg.cli import main

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

TINY = {
    "system": "nearfield",
    "n_antennas": 24,
    "ue_distance_m": [6.0, 12.0],
    "ue_angle_rad": [-0.4, 0.5],
    "scatter_radius_m": 1.0,
    "n_scatterers": 8,
    "ccm_draws": 2,
}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    cfg = d / "tiny.yaml"
    cfg.write_text(yaml.safe_dump(TINY))
    ds = d / "tiny_sumrate.npz"
    return d, cfg, ds


def run(capsys, argv):
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_generate_train_keyrate(built, capsys):
    d, cfg, ds = built
    gen = ["generate", "sumrate", "--scenario", str(cfg), "--n-samples", "30"]
    gen += ["--pa-dbm-range", "-20", "10", "--seed", "2", "--out", str(ds), "--json"]
    code, out, _ = run(capsys, gen)
    assert code == 0
    summary = json.loads(out)
    assert summary["n_samples"] == 30 and summary["label"] == "mu"
    first = ds.read_bytes()
    assert run(capsys, gen)[0] == 0 and ds.read_bytes() == first  # same seed, same bytes
    tr = ["train", "kglm", "--dataset", str(ds), "--name", "k", "--out-dir", str(d)]
    tr += ["--no-log", "--max-epochs", "12", "--json", "--scenario", str(cfg)]
    code, out, _ = run(capsys, tr)
    assert code == 0
    res = json.loads(out)
    assert res["label_norm"] == "log_minmax" and (d / "k.safetensors").is_file()
    first_ckpt = (d / "k.safetensors").read_bytes()
    assert run(capsys, tr)[0] == 0 and (d / "k.safetensors").read_bytes() == first_ckpt
    kr = ["keyrate", "--scenario", str(cfg), "--pa-dbm", "0", "--json"]
    code, out, _ = run(capsys, [*kr, "--method", "wfpa"])
    wf = json.loads(out)
    assert code == 0 and wf["mu"] > 0 and wf["power_used_w"] == pytest.approx(1e-3, rel=1e-10)
    code, out, _ = run(capsys, [*kr, "--method", "fnnpa", "--checkpoint", str(d / "k.safetensors")])
    fnn = json.loads(out)
    assert code == 0 and fnn["checkpoint"] == str(d / "k.safetensors")
    assert fnn["mu"] == pytest.approx(wf["mu"], rel=0.2)
    assert fnn["sum_kr_bits"] <= wf["sum_kr_bits"] * (1 + 1e-9)
    assert fnn["power_used_w"] <= 1e-3 * (1 + 1e-12)
    # out of the training range -> one clear error line, exit 2
    code, _, err = run(
        capsys,
        [*kr[:-3], "--pa-dbm", "25", "--method", "fnnpa", "--checkpoint", str(d / "k.safetensors")],
    )
    assert code == 2 and "outside the training range" in err


def test_errors(built, capsys, tmp_path):
    d, cfg, ds = built
    code, _, err = run(capsys, ["train", "kglm", "--dataset", str(tmp_path / "none.npz")])
    assert code == 2 and "does not exist" in err
    if ds.exists():
        code, _, err = run(capsys, ["train", "fairness", "--dataset", str(ds), "--no-log"])
        assert code == 2 and "label 't'" in err
    code, _, err = run(
        capsys, ["generate", "sumrate", "--scenario", str(cfg), "--pa-dbm-range", "10", "0"]
    )
    assert code == 2 and "p_min < p_max" in err
