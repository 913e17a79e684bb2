"""``plkg ris``: JSON output, YAML scenarios and clear errors."""

from __future__ import annotations

import json

import pytest
import torch

from plkg.cli import main


@pytest.fixture(autouse=True)
def _restore_threads():
    previous = torch.get_num_threads()
    yield
    torch.set_num_threads(previous)


def test_ris_json_output(capsys):
    rc = main(
        [
            "ris",
            "--n-ris-elements",
            "8",
            "--methods",
            "proposed,no-ris",
            "--max-iter",
            "5",
            "--json",
        ]
    )
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["methods"]) == {"proposed", "no-ris"}
    prop = out["methods"]["proposed"]
    for key in (
        "wskr_bits",
        "ub_bits",
        "kgr_bits_per_cell",
        "ub_bits_per_cell",
        "iterations",
        "objective_history_bits",
    ):
        assert key in prop
    assert len(prop["kgr_bits_per_cell"]) == 2
    assert prop["ub_bits"] >= prop["wskr_bits"] - 1e-9
    hist = prop["objective_history_bits"]
    assert all(b >= a for a, b in zip(hist, hist[1:], strict=False))
    assert out["scenario"]["n_ris_elements"] == 8


def test_ris_yaml_and_four_cell(tmp_path, capsys):
    cfg = tmp_path / "s.yaml"
    cfg.write_text(
        "system: ris\nlayout: four-cell\nn_ris_elements: 4\nn_antennas: 2\nn_rf_chains: 2\n"
    )
    assert main(["ris", "--scenario", str(cfg), "--methods", "no-ris", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["methods"]["no-ris"]["kgr_bits_per_cell"]) == 4
    assert main(["ris", "--n-ris-elements", "4", "--methods", "no-ris", "--ut-x", "200"]) == 0
    assert "WSKR" in capsys.readouterr().out


def test_ris_multistart_reports_the_best_start(capsys):
    argv = ["ris", "--n-ris-elements", "8", "--methods", "proposed", "--max-iter", "5", "--json"]
    assert main([*argv, "--starts", "3"]) == 0
    prop = json.loads(capsys.readouterr().out)["methods"]["proposed"]
    per_start = prop["wskr_bits_per_start"]
    assert prop["starts"] == 3 and len(per_start) == 3
    assert prop["wskr_bits"] == pytest.approx(max(per_start), abs=1e-6)
    assert per_start[prop["best_start"]] == max(per_start)


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["--ris-x", "0"], "RIS on a BS"),
        (["--n-ris-elements", "0"], "n_ris_elements"),
        (["--methods", "magic"], "unknown method"),
        (["--scenario", "nope.yaml"], "nope.yaml"),
        (["--scenario", "four-cell", "--ut-x", "100"], "two-cell"),
        (["--starts", "0"], "--starts"),
    ],
)
def test_ris_bad_input_exit_2(argv, match, capsys):
    assert main(["ris", *argv]) == 2
    assert match in capsys.readouterr().err
