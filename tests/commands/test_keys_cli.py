"""``plkg keys``: near-field and RIS key loops through the CLI."""

from __future__ import annotations

import json

import pytest

from plkg.cli import main


def run_json(capsys, argv):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_nearfield_keys_json(small_yaml, capsys):
    out = run_json(
        capsys,
        [
            "keys",
            "--system",
            "nearfield",
            "--scenario",
            str(small_yaml),
            "--pa-dbm",
            "-10",
            "--rounds",
            "256",
            "--json",
        ],
    )
    assert out["system"] == "nearfield" and len(out["users"]) == 2
    for u in out["users"]:
        assert u["key_agreement_ratio"] == 1.0 and u["bdr_after"] == 0.0
        assert 0 < u["final_bits_per_round"] <= u["analytic_kr_bits"]
        assert u["final_key_bits"] <= u["entropy_bits"] - u["leak_bits"] - u["margin_bits"]
        assert u["leak_bits"] == u["disclosed_bits"] + u["reply_bits"] + u["length_bits"]
        for key in ("bdr_before", "disclosed_bits", "sample_bits", "raw_bits", "training_rounds"):
            assert key in u
    assert out["security"]["hash_bits"] == 34 and out["key_material"] == "test"


def test_nearfield_no_usable_subchannel_gives_null_bdr(small_yaml, capsys):
    out = run_json(
        capsys,
        ["keys", "--scenario", str(small_yaml), "--pa-dbm", "-70", "--rounds", "64", "--json"],
    )
    assert all(u["bdr_before"] is None and u["final_key_bits"] == 0 for u in out["users"])


def test_ris_keys_json(capsys):
    out = run_json(
        capsys,
        [
            "keys",
            "--system",
            "ris",
            "--n-ris-elements",
            "20",
            "--pa-dbm",
            "30",
            "--rounds",
            "256",
            "--json",
        ],
    )
    assert out["system"] == "ris" and len(out["cells"]) == 2
    for c in out["cells"]:
        assert c["status"] in ("ok", "no-key")
        if c["status"] == "ok":
            assert 0 < c["bdr_before"] < 0.5 and c["key_agreement_ratio"] == 1.0
            assert c["residual_mismatch_bits"] == 0
            assert c["final_bits_per_round"] <= c["analytic_kr_bits"]
        else:  # a 0-bit key is not applicable, never "agreement 1.0"
            assert c["final_key_bits"] == 0 and c["key_agreement_ratio"] is None


@pytest.mark.parametrize(
    "argv, message",
    [
        (["keys", "--rounds", "4"], "--rounds"),
        (["keys", "--method", "magic", "--rounds", "64"], "unknown allocation method"),
        (["keys", "--system", "ris", "--method", "magic", "--rounds", "64"], "unknown RIS method"),
        (
            ["keys", "--system", "ris", "--min-subchannel-kr-bits", "1", "--rounds", "64"],
            "nearfield only",
        ),
        (["keys", "--pa-w", "-1"], "--pa-w"),
        (["keys", "--scenario", "nope"], "unknown scenario"),
        (["keys", "--bits-per-sample", "0"], "bits_per_sample"),
    ],
)
def test_errors(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_out_writes_key_files_readable_by_nist(small_yaml, tmp_path, capsys):
    """--out DIR: one ASCII 0/1 file per UE with key bits (what `plkg nist` reads) + summary."""
    from plkg.commands.nist import read_bits

    out_dir = tmp_path / "keys"
    argv = ["keys", "--scenario", str(small_yaml), "--pa-dbm", "-10", "--rounds", "256"]
    out = run_json(capsys, [*argv, "--json", "--out", str(out_dir)])
    summary = json.loads((out_dir / "summary.json").read_text())
    assert summary["users"] == out["users"]
    for k, u in enumerate(out["users"], start=1):  # UEs numbered from 1: ue1.txt ...
        assert u["ue"] == k and "user" not in u
        path = out_dir / f"ue{k}.txt"
        if u["final_key_bits"]:
            assert out["key_files"][str(k)] == path.name
            bits = read_bits(path)
            assert bits.size == u["final_key_bits"] and set(bits.tolist()) <= {0, 1}
        else:
            assert not path.exists()
    assert not [p for p in out_dir.iterdir() if p.name.startswith(".")]  # no temporary left


def test_zero_bit_key_is_not_reported_as_agreement(small_yaml, capsys):
    assert main(["keys", "--scenario", str(small_yaml), "--pa-dbm", "-70", "--rounds", "64"]) == 0
    text = capsys.readouterr().out
    assert "no key" in text and "agreement 1.0000" not in text


def _paired(rng, n_rounds, shape, rho):
    h = rng.standard_normal((n_rounds, *shape)) + 1j * rng.standard_normal((n_rounds, *shape))
    s = ((1 - rho) / rho) ** 0.5

    def noise():
        return s * (rng.standard_normal(h.shape) + 1j * rng.standard_normal(h.shape))

    return h + noise(), h + noise()


@pytest.mark.parametrize("suffix", [".npz", ".mat"])
def test_measurements_file_runs_the_same_pipeline(suffix, tmp_path, capsys):
    import numpy as np

    rng = np.random.default_rng(3)
    alice, bob = _paired(rng, 512, (2, 3), 0.999)
    path = tmp_path / f"meas{suffix}"
    arrays = {"alice": alice, "bob": bob, "analytic_kr_bits": np.full(2, 3 * 9.97)}
    if suffix == ".npz":
        np.savez(path, **arrays)
    else:
        from scipy.io import savemat

        savemat(path, arrays)
    out = run_json(capsys, ["keys", "--measurements", str(path), "--json", "--out", str(tmp_path)])
    assert out["system"] == "measurements" and len(out["users"]) == 2
    for k, u in enumerate(out["users"], start=1):  # links numbered from 1: link1.txt ...
        assert u["link"] == k
        assert u["status"] == "ok" and u["residual_mismatch_bits"] == 0
        assert 0.5 < u["efficiency"] < 1.0
        assert u["training_rounds"] == 52  # basis and correlations from ceil(0.1 * 512) rounds
        assert (tmp_path / f"link{k}.txt").stat().st_size == u["final_key_bits"] + 1
    assert out["key_material"] == "measured" and not out["security"]["public_correlation"]
    assert "only as secret" in out["security"]["key_material_note"]


def test_ccm_file_from_scenario_export(small_yaml, tmp_path, capsys):
    ccm_path = tmp_path / "ccm.npz"
    assert main(["scenario", "--scenario", str(small_yaml), "--export", str(ccm_path)]) == 0
    capsys.readouterr()
    argv = ["keys", "--scenario", str(small_yaml), "--pa-dbm", "-10", "--rounds", "128"]
    out = run_json(capsys, [*argv, "--ccm", str(ccm_path), "--json"])
    assert all(u["status"] == "ok" for u in out["users"])


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--measurements", "missing.npz"], "--measurements: no such file"),
        (["--ccm", "missing.npz"], "--ccm: no such file"),
        (["--system", "ris", "--ccm", "x.npz"], "--ccm applies to --system nearfield only"),
    ],
)
def test_file_option_errors(extra, message, capsys):
    assert main(["keys", "--rounds", "64", *extra]) == 2
    assert message in capsys.readouterr().err


def test_measurement_file_shape_errors(tmp_path, capsys):
    import numpy as np

    path = tmp_path / "bad.npz"
    np.savez(path, alice=np.zeros((16, 2)), bob=np.zeros((16, 3)))
    assert main(["keys", "--measurements", str(path)]) == 2
    assert "same shape" in capsys.readouterr().err


def test_ris_block_too_short_for_training_refused_before_optimisation(monkeypatch, capsys):
    """M_e + 1 = 5 training rounds and 4 key rounds do not fit in 8: refused before the RIS
    optimisation, naming --block-rounds and the shortest block that works."""
    import plkg.keygen.ris_keys as ris_keys

    def never(*args, **kwargs):
        raise AssertionError("ris_key_generation ran before the block check")

    monkeypatch.setattr(ris_keys, "ris_key_generation", never)
    argv = ["keys", "--system", "ris", "--rounds", "64", "--block-rounds", "8", "--quiet"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "--block-rounds >= 9" in err and "n_components + 1 = 5" in err
    assert "training_fraction" not in err and "smaller" not in err
    argv[-2:] = ["16", "--training-fraction", "0.9"]  # now the fraction binds
    assert main(argv + ["--quiet"]) == 2
    err = capsys.readouterr().err
    assert "--training-fraction 0.9" in err and "or a smaller --training-fraction" in err


def test_commit_out_renames_before_removing_stale_files(tmp_path, monkeypatch):
    """New key files are renamed in, then summary.json, and only then are the previous run's
    files this run did not write removed; a failing rename removes nothing."""
    from pathlib import Path

    from plkg.commands.keys import commit_out

    out = tmp_path / "keys"
    out.mkdir()
    for name, text in (("ue0.txt", "old0\n"), ("ue1.txt", "old1\n"), ("summary.json", "{}\n")):
        (out / name).write_text(text)
    (out / "notes.txt").write_text("mine\n")
    log = []
    real_replace, real_unlink = Path.replace, Path.unlink

    def replace(self, target):
        log.append(("replace", Path(target).name))
        return real_replace(self, target)

    def unlink(self, missing_ok=False):
        if self.parent == out:
            log.append(("unlink", self.name))
        return real_unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "replace", replace)
    monkeypatch.setattr(Path, "unlink", unlink)
    commit_out(out, {"ue0.txt": "new0\n", "summary.json": '{"new": 1}\n'})
    assert log == [("replace", "ue0.txt"), ("replace", "summary.json"), ("unlink", "ue1.txt")]
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt", "summary.json", "ue0.txt"]

    (out / "ue1.txt").write_text("old1\n")

    def failing(self, target):
        if Path(target).name == "summary.json":
            raise OSError(5, "I/O error")
        return real_replace(self, target)

    monkeypatch.setattr(Path, "replace", failing)
    with pytest.raises(OSError):
        commit_out(out, {"ue0.txt": "newer0\n", "summary.json": '{"newer": 1}\n'})
    assert (out / "summary.json").read_text() == '{"new": 1}\n'  # old summary kept
    assert (out / "ue1.txt").read_text() == "old1\n"  # nothing removed before the renames
    assert not [p for p in tmp_path.rglob("*.tmp")]  # staging folder removed
