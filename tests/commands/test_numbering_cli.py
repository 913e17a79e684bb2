"""UEs, cells and links are numbered from 1 wherever a user sees them: key file names, the
``ue``/``cell``/``link`` fields and ``key_files`` of the JSON, text lines and progress labels."""

from __future__ import annotations

import json

import numpy as np
import pytest

from plkg.cli import main

pytestmark = pytest.mark.surface


def _json(capsys, argv):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_keys_writes_ue1_not_ue0(small_yaml, tmp_path, capsys):
    out_dir = tmp_path / "keys"
    argv = ["keys", "--scenario", str(small_yaml), "--pa-dbm", "-10", "--rounds", "64"]
    report = _json(capsys, [*argv, "--json", "--out", str(out_dir)])
    names = sorted(p.name for p in out_dir.iterdir())
    assert "ue0.txt" not in names and "ue1.txt" in names
    assert [u["ue"] for u in report["users"]] == [1, 2]
    assert set(report["key_files"]) <= {"1", "2"}
    assert all(report["key_files"][k] == f"ue{k}.txt" for k in report["key_files"])
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "  UE 1:" in text and "  UE 2:" in text and "UE 0" not in text


def test_measurement_links_are_numbered_from_1(tmp_path, capsys):
    rng = np.random.default_rng(0)
    h = rng.standard_normal((64, 2, 2))
    path = tmp_path / "m.npz"
    np.savez(path, alice=h + 0.01 * rng.standard_normal(h.shape), bob=h)
    report = _json(capsys, ["keys", "--measurements", str(path), "--json", "--out", str(tmp_path)])
    assert [u["link"] for u in report["users"]] == [1, 2]
    assert not (tmp_path / "link0.txt").exists()


def test_keygen_progress_labels_count_from_1(small_yaml):
    from plkg.channels.nearfield_scenario import load_scenario
    from plkg.keygen.nearfield_keys import nearfield_key_generation

    labels = []
    nearfield_key_generation(
        load_scenario(str(small_yaml)),
        0.1,
        64,
        np.random.default_rng(0),
        block_rounds=32,
        progress=labels.append,
    )
    assert labels == ["UE 1", "UE 1", "UE 2", "UE 2"]


def test_keyrate_and_scenario_json_name_their_ues(small_yaml, capsys):
    kr = _json(capsys, ["keyrate", "--scenario", str(small_yaml), "--pa-dbm", "10", "--json"])
    assert kr["ue"] == [1, 2] and len(kr["kr_bits"]) == 2
    sc = _json(capsys, ["scenario", "--scenario", str(small_yaml), "--json"])
    assert sc["ue"] == [1, 2] and len(sc["n_subchannels"]) == 2


@pytest.mark.parametrize("command", ["keys", "keyrate", "scenario", "ris"])
def test_help_says_numbered_from_1(command, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    assert "numbered from 1" in " ".join(capsys.readouterr().out.split())
