"""``plkg nist``: ASCII and binary input, batch mode, clear errors."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from plkg.cli import main

PI100 = (
    "11001001000011111101101010100010001000010110100011"
    "00001000110100110001001100011001100010100010111000"
)


def run_json(capsys, argv):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_ascii_file_with_whitespace_reproduces_worked_examples(tmp_path, capsys):
    f = tmp_path / "pi.txt"
    f.write_text(PI100[:50] + "\n  " + PI100[50:] + "\n")
    out = run_json(capsys, ["nist", str(f), "--json"])
    assert out["mode"] == "single" and out["n_bits"] == 100
    assert round(out["tests"]["frequency"]["p_values"]["frequency"], 6) == 0.109599
    assert round(out["tests"]["cumulative_sums"]["p_values"]["backward"], 6) == 0.114866
    assert out["tests"]["longest_run"]["note"].startswith("not run")
    assert out["tests"]["longest_run"]["p_values"]["longest_run"] is None


def test_binary_batch_mode_reports_pass_ratio_and_uniformity(tmp_path, capsys):
    f = tmp_path / "r.bin"
    f.write_bytes(os.urandom(60 * 256))  # 60 sequences of 2048 bits
    # random data fails some P-value's proportion test now and then: report only (exit 0)
    argv = ["nist", str(f), "--binary", "--batch-length", "2048", "--json", "--report-only"]
    out = run_json(capsys, argv)
    assert out["mode"] == "batch" and out["n_sequences"] == 60
    freq = next(t for t in out["tests"] if t["test"] == "frequency")
    assert 0.85 <= freq["pass_ratio"] <= 1.0  # > 9 failures of 60 has probability < 1e-12
    assert freq["uniformity_p_value"] is not None
    assert len(out["tests"]) == 11


def test_batch_length_drops_the_remainder_with_a_note(tmp_path, capsys):
    f = tmp_path / "r.bin"
    f.write_bytes(os.urandom(10 * 128 + 3))  # 10 sequences of 1024 bits and 24 bits more
    argv = ["nist", str(f), "--binary", "--batch-length", "1024", "--tests", "frequency"]
    assert main([*argv, "--json", "--report-only"]) == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert out["n_sequences"] == 10 and out["dropped_bits"] == 24 and out["n_bits"] == 10264
    note = captured.err.splitlines()
    assert len(note) == 1 and "24 of 10264 bits" in note[0] and "1024" in note[0]
    f.write_bytes(os.urandom(10 * 128))  # a whole number of sequences: nothing dropped, no note
    assert main([*argv, "--json", "--report-only"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["dropped_bits"] == 0 and captured.err == ""


def test_binary_bytes_are_msb_first(tmp_path, capsys):
    f = tmp_path / "b.bin"
    f.write_bytes(bytes([0b10000000]) * 16)
    argv = ["nist", str(f), "--binary", "--tests", "frequency", "--json", "--report-only"]
    out = run_json(capsys, argv)  # this sequence fails the test: --report-only exits 0
    assert out["n_bits"] == 128
    # 16 ones in 128 bits: S_n = -96, P = erfc(96/sqrt(128)/sqrt(2))
    assert out["tests"]["frequency"]["statistics"]["s_n"] == -96


@pytest.mark.parametrize(
    "content, extra, message",
    [
        (b"", [], "empty input"),
        (b"  \n ", [], "only whitespace"),
        (b"0101x01", [], "non-binary"),
        (b"01" * 100, ["--batch-length", "201"], "longer than the input (200 bits)"),
        (b"01" * 100, ["--tests", "poker"], "unknown NIST test"),
        (b"01" * 100, ["--alpha", "2"], "alpha"),
    ],
)
def test_errors_are_one_line_exit_2(tmp_path, capsys, content, extra, message):
    f = tmp_path / "in.txt"
    f.write_bytes(content)
    assert main(["nist", str(f), *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_missing_file(tmp_path, capsys):
    assert main(["nist", str(tmp_path / "nope.txt")]) == 2
    assert "No such file" in capsys.readouterr().err


def test_text_output(tmp_path, capsys):
    f = tmp_path / "pi.txt"
    f.write_text(PI100)
    assert main(["nist", str(f)]) == 0
    out = capsys.readouterr().out
    assert "frequency" in out and "PASS" in out and "N/A" in out  # longest run needs 128 bits
    np.testing.assert_equal(out.count("\n") >= 9, True)
