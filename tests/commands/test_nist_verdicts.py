"""NIST verdicts are pass / fail / not applicable, and `plkg nist` exits 1 when a test fails."""

from __future__ import annotations

import json

import numpy as np
import pytest

from plkg.cli import main
from plkg.keygen.nist import run_tests
from plkg.keygen.nist.suite import run_batch


def _file(tmp_path, bits):
    f = tmp_path / "bits.txt"
    f.write_text("".join(str(int(b)) for b in bits))
    return str(f)


def test_ten_bits_are_not_applicable_not_pass(tmp_path, capsys):
    f = _file(tmp_path, [1, 0, 1, 1, 0, 1, 0, 1, 1, 0])
    assert main(["nist", f, "--json"]) == 1  # nothing could be tested
    out = capsys.readouterr()
    report = json.loads(out.out)
    assert {t["verdict"] for t in report["tests"].values()} == {"not applicable"}
    assert "no test was applicable" in out.err
    assert main(["nist", f]) == 1
    text = capsys.readouterr().out
    assert "PASS" not in text and "N/A" in text


def test_all_zero_file_fails_every_test_and_exits_1(tmp_path, capsys):
    f = _file(tmp_path, np.zeros(20000, dtype=int))
    assert main(["nist", f, "--json"]) == 1
    out = capsys.readouterr()
    verdicts = {k: t["verdict"] for k, t in json.loads(out.out)["tests"].items()}
    assert "fail" in verdicts.values() and "pass" not in verdicts.values()
    assert "failed:" in out.err and "frequency" in out.err
    assert main(["nist", f, "--report-only"]) == 0
    assert "FAIL" in capsys.readouterr().out


def test_random_bits_pass(tmp_path, capsys, rng):
    # frequency alone: fails at alpha = 0.01 with probability 1 %; use alpha = 1e-6
    f = _file(tmp_path, rng.integers(0, 2, 4096))
    assert main(["nist", f, "--tests", "frequency,runs", "--alpha", "1e-6"]) == 0
    assert capsys.readouterr().out.count("PASS") == 2


def test_batch_all_zero_fails(tmp_path, capsys):
    f = _file(tmp_path, np.zeros(10 * 1024, dtype=int))
    assert main(["nist", f, "--batch-length", "1024", "--tests", "frequency", "--json"]) == 1
    summary = json.loads(capsys.readouterr().out)["tests"][0]
    assert summary["verdict"] == "fail" and summary["pass_ratio"] == 0.0


@pytest.mark.parametrize("n, verdict", [(50, "not applicable"), (1000, "pass")])
def test_result_verdict_follows_eligibility(n, verdict):
    bits = np.tile([0, 1, 1, 0], n // 4 + 1)[:n]  # balanced: frequency P = 1
    assert run_tests(bits, ["frequency"])["frequency"].verdict() == verdict


def test_batch_verdict_not_applicable_for_short_sequences():
    seqs = np.tile([0, 1], (5, 20))  # 40-bit sequences: below every recommendation
    (summary,) = run_batch(seqs, ["frequency"])
    assert summary.verdict == "not applicable"
