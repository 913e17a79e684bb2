"""Cascade: agreement rate, exact disclosure accounting (transcript replay), error cases."""

from __future__ import annotations

import numpy as np
import pytest

from plkg.keygen.reconciliation import cascade_reconcile, disclosed_rank, initial_block_size


def test_single_error_one_pass_discloses_exactly_one_plus_log2_block():
    a = np.zeros(8, dtype=np.int8)
    b = a.copy()
    b[5] = 1
    r = cascade_reconcile(a, b, qber=0.1, rng=np.random.default_rng(0), n_passes=1, verify_bits=0)
    assert r.block_size == 8
    assert np.array_equal(r.bits_b, a) and r.objective == 1
    assert r.parity_bits == 1 + 3 and r.disclosed_bits == 4  # block parity + binary search of 8


def test_no_errors_disclose_one_parity_per_block_plus_hash():
    rng = np.random.default_rng(1)
    a = rng.integers(0, 2, 100)
    r = cascade_reconcile(a, a.copy(), qber=0.073, rng=rng, n_passes=2, verify_bits=32)
    # k1 = 10 -> 10 blocks; pass 2 k = 20 -> 5 blocks; nothing else is asked
    assert r.parity_bits == 15 and r.verify_bits == 32 and r.disclosed_bits == 47
    assert r.success and r.objective == 0


def test_transcript_replay_equals_disclosed_count_and_bounds_rank():
    rng = np.random.default_rng(2)
    n = 512
    a = rng.integers(0, 2, n)
    b = a ^ (rng.random(n) < 0.06)
    r = cascade_reconcile(a, b, 0.06, rng)
    assert len(r.transcript) == r.parity_bits
    assert r.disclosed_bits == r.parity_bits + r.verify_bits
    # no index set is asked twice (parities are cached), so nothing is double counted
    assert len({tuple(sorted(t.tolist())) for t in r.transcript}) == r.parity_bits
    # replay: Bob's corrected string has Alice's parity on every disclosed set
    for idx in r.transcript:
        assert a[idx].sum() % 2 == r.bits_b[idx].sum() % 2
    assert 0 < disclosed_rank(r.transcript, n) <= r.parity_bits


def test_disclosed_rank_brute_force():
    transcript = [np.array([0, 1]), np.array([1, 2]), np.array([0, 2]), np.array([3])]
    assert disclosed_rank(transcript, 4) == 3  # third row is the sum of the first two


def test_agreement_rate_at_least_999_per_mille():
    """1000 runs of 256-bit blocks at QBER 5 %: every failure would have to be hidden from a
    32-bit hash AND not corrected by the extra passes; we require >= 999 identical keys."""
    rng = np.random.default_rng(3)
    n, q, runs = 256, 0.05, 1000
    identical = 0
    undetected = 0
    for _ in range(runs):
        a = rng.integers(0, 2, n)
        b = a ^ (rng.random(n) < q)
        r = cascade_reconcile(a, b, q, rng)
        same = np.array_equal(r.bits_b, a)
        identical += same
        undetected += r.success and not same
    assert identical >= 0.999 * runs
    assert undetected == 0


def test_initial_block_size_and_errors():
    assert initial_block_size(0.073, 1000) == 10
    assert initial_block_size(0.5 - 1e-9, 1000) == 4
    assert initial_block_size(0.0, 64) == 64
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="QBER"):
        cascade_reconcile([0, 1], [0, 1], 0.6, rng)
    with pytest.raises(ValueError, match="equal length"):
        cascade_reconcile([0, 1], [0, 1, 1], 0.1, rng)
    with pytest.raises(ValueError, match="empty"):
        cascade_reconcile([], [], 0.1, rng)
    with pytest.raises(ValueError, match="binary"):
        cascade_reconcile([0, 2], [0, 1], 0.1, rng)
    with pytest.raises(ValueError, match="n_passes"):
        cascade_reconcile([0, 1], [0, 1], 0.1, rng, n_passes=0)
