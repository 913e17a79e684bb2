"""Toeplitz hashing and the final-length bound."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plkg.keygen.entropy import estimate_entropy_bits, mcv_min_entropy_per_symbol
from plkg.keygen.privacy_amplification import final_key_length, privacy_amplify, toeplitz_hash


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 40), st.integers(1, 20), st.integers(0, 2**31 - 1))
def test_toeplitz_hash_equals_explicit_matrix_product(n, m, seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 2, n)
    s = rng.integers(0, 2, n + m - 1)
    t = np.array([[s[i - j + n - 1] for j in range(n)] for i in range(m)])
    np.testing.assert_array_equal(toeplitz_hash(x, m, s), (t @ x) % 2)


def test_fft_path_equals_direct_convolution():
    rng = np.random.default_rng(3)
    n, m = 20_000, 5_000  # n * m above the direct limit
    x = rng.integers(0, 2, n)
    s = rng.integers(0, 2, n + m - 1)
    direct = np.convolve(s, x, mode="valid") % 2
    np.testing.assert_array_equal(toeplitz_hash(x, m, s), direct)


def test_toeplitz_family_is_two_universal():
    """Pr_seed[h(x) = h(x')] = 2^-m for x != x' (here m = 3: 1/8), Monte Carlo over 4000 seeds."""
    rng = np.random.default_rng(0)
    n, m, trials = 16, 3, 4000
    x = rng.integers(0, 2, n)
    x2 = x.copy()
    x2[[2, 7]] ^= 1
    hits = 0
    for _ in range(trials):
        s = rng.integers(0, 2, n + m - 1)
        hits += np.array_equal(toeplitz_hash(x, m, s), toeplitz_hash(x2, m, s))
    p = 1 / 8
    assert abs(hits / trials - p) < 5 * math.sqrt(p * (1 - p) / trials)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 300),
    st.floats(0, 400),
    st.floats(0, 400),
    st.floats(0, 100),
)
def test_final_length_never_exceeds_entropy_bound(n, h, disclosed, margin):
    ell = final_key_length(h, disclosed, margin, n)
    assert 0 <= ell <= max(0.0, min(n, h) - disclosed - margin) + 1e-9
    assert ell <= n


def test_privacy_amplify_both_ends_same_key_and_length():
    rng = np.random.default_rng(1)
    x = rng.integers(0, 2, 200)
    pa = privacy_amplify(x, entropy_bits=180.0, disclosed_bits=60, rng=rng, security_margin_bits=40)
    assert pa.final_length == 80 and pa.key.size == 80
    again = privacy_amplify(x, 180.0, 60, security_margin_bits=40, seed_bits=pa.seed)
    np.testing.assert_array_equal(again.key, pa.key)
    empty = privacy_amplify(x, 50.0, 60, rng=rng)
    assert empty.final_length == 0 and empty.key.size == 0


def test_mcv_entropy_estimate():
    rng = np.random.default_rng(2)
    assert mcv_min_entropy_per_symbol(np.zeros(100, dtype=int), 4) == 0.0
    h = mcv_min_entropy_per_symbol(rng.integers(0, 4, 100_000), 4)
    assert 1.95 < h <= 2.0
    biased = (rng.random(100_000) < 0.8).astype(int)
    assert abs(mcv_min_entropy_per_symbol(biased, 2) - (-math.log2(0.8))) < 0.01
    assert estimate_entropy_bits(np.ones(10), method="ideal") == 10


def test_errors():
    with pytest.raises(ValueError, match="seed"):
        toeplitz_hash([0, 1, 1], 2, [0, 1])
    with pytest.raises(ValueError, match="disclosed_bits"):
        final_key_length(10, -1, 0, 10)
    with pytest.raises(ValueError, match="binary"):
        privacy_amplify([0, 3], 2, 0, rng=np.random.default_rng())
    with pytest.raises(ValueError, match="non-empty"):
        privacy_amplify([], 2, 0, rng=np.random.default_rng())


@pytest.mark.parametrize("n, m", [(5, 3), (6, 4)])
def test_output_uniform_over_seeds_for_any_nonzero_input(n, m):
    """For every fixed x != 0 the map seed -> T x is onto {0,1}^m with equal multiplicities.

    So with a fresh uniform public seed the final key is exactly uniform whatever the input's
    entropy: statistical tests on final keys test the seed generator and cannot detect an
    over-counted entropy estimate (that is checked on the estimator itself,
    ``test_entropy_correlated.py``). Brute force over all 2^(n + m - 1) seeds.
    """
    seeds = (np.arange(2 ** (n + m - 1))[:, None] >> np.arange(n + m - 1)) & 1
    weights = 1 << np.arange(m)
    for code in range(1, 2**n):
        x = (code >> np.arange(n)) & 1
        outs = np.array([toeplitz_hash(x, m, s) @ weights for s in seeds])
        counts = np.bincount(outs, minlength=2**m)
        assert np.all(counts == 2 ** (n - 1)), (x, counts)
