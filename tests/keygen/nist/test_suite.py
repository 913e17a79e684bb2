"""Suite and batch mode: random bits pass, biased and periodic bits fail, section 4.2 summaries."""

from __future__ import annotations

import os

import numpy as np
import pytest

from plkg.keygen.nist import NIST_TESTS, as_bits, run_batch, run_tests, uniformity_p_value

# A random sequence fails a given P-value at level alpha with probability alpha. To make the tests
# pass for any draw, "passes" means P >= 1e-6 (false-failure probability ~ 1e-6 per P-value), and
# "fails" means P < 1e-6 on sequences built to be non-random.
TINY = 1e-6
N_BITS = 40_000  # >= 38 * 1024 (rank), >= 1000 (DFT), >= 6272 (longest run M = 128)


def urandom_bits(n: int) -> np.ndarray:
    return np.unpackbits(np.frombuffer(os.urandom(n // 8), dtype=np.uint8)).astype(np.int8)


def test_urandom_bits_pass_every_test_and_are_eligible():
    results = run_tests(urandom_bits(N_BITS))
    assert set(results) == set(NIST_TESTS)
    for name, r in results.items():
        assert r.eligible or name == "block_frequency", (name, r.note)
        assert min(r.p_values) >= TINY, (name, r.p_values)
    assert len(results["cumulative_sums"].p_values) == 2 and len(results["serial"].p_values) == 2


def test_biased_bits_fail():
    rng = np.random.default_rng(1)
    bits = (rng.random(N_BITS) < 0.6).astype(np.int8)
    r = run_tests(bits)
    for name in (
        "frequency",
        "block_frequency",
        "runs",
        "cumulative_sums",
        "approximate_entropy",
        "serial",
    ):
        assert r[name].p_value < TINY, name


def test_periodic_bits_fail():
    bits = np.tile(
        np.array([0, 1, 1, 0, 1, 0, 0, 1], dtype=np.int8), N_BITS // 8
    )  # balanced, period 8
    r = run_tests(bits)
    for name in ("runs", "longest_run", "rank", "dft", "approximate_entropy", "serial"):
        assert r[name].p_value < TINY, name


def test_batch_summary_on_random_sequences():
    seqs = urandom_bits(120 * 2048).reshape(120, 2048)
    summaries = run_batch(seqs)
    labels = [(s.test, s.label) for s in summaries]
    assert ("cumulative_sums", "forward") in labels and ("serial", "p2") in labels
    assert len(summaries) == 11
    for s in summaries:
        assert s.n_sequences == 120
        # false alarm of "more than 12 of 120 fail" is < 1e-7 for a fair P-value
        assert s.pass_ratio >= 0.9, (s.test, s.label, s.pass_ratio)
        lo, hi = s.proportion_interval
        assert lo < 0.99 < hi
    rank = next(s for s in summaries if s.test == "rank")
    assert not rank.eligible and "38" in rank.note  # 2048 bits = 2 matrices


def test_uniformity_p_value_detects_non_uniform_and_accepts_uniform():
    p_uniform = (np.arange(1000) + 0.5) / 1000
    assert uniformity_p_value(p_uniform)[0] > 0.99
    p_skewed = np.full(1000, 0.05)
    assert uniformity_p_value(p_skewed)[0] < 1e-10
    s = run_batch(urandom_bits(20 * 256).reshape(20, 256), tests=["frequency"])[0]
    assert np.isnan(s.uniformity_p_value) and "55" in s.note


@pytest.mark.parametrize(
    "bad, msg",
    [
        ("", "empty"),
        ("0102", "non-binary"),
        (np.array([0, 1, 2]), "non-binary"),
        (np.array([0.0, np.nan]), "NaN"),
        (np.zeros((2, 2)), "1-D"),
    ],
)
def test_bad_input_raises(bad, msg):
    with pytest.raises(ValueError, match=msg):
        as_bits(bad)
    with pytest.raises(ValueError):
        run_tests(bad)


def test_unknown_test_and_bad_batch_shape():
    with pytest.raises(ValueError, match="unknown NIST test"):
        run_tests("0101", tests=["poker"])
    with pytest.raises(ValueError, match=r"\[S, n\]"):
        run_batch(np.zeros(10))
    with pytest.raises(ValueError, match="longest_run"):
        NIST_TESTS["longest_run"]("01" * 20)
