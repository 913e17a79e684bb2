"""LDPC syndrome reconciliation: agreement, exact leak accounting (brute force), row splitting."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from plkg.keygen import ldpc_reconciliation as lr
from plkg.keygen.gaussian_model import normal_scores
from plkg.keygen.ldpc_code import irregular_parity_check, split_rows
from plkg.keygen.quantization import equiprobable_levels, gray_code
from plkg.keygen.reconciliation import cascade_scheme, disclosed_rank
from plkg.keygen.reconciliation_interface import ReconciliationProblem


def gaussian_problem(rng, n, rho, bits):
    """Real pairs with correlation rho per component, quantised with ``bits`` per component."""
    rho = np.asarray(rho, dtype=np.float64)
    x = rng.standard_normal((n, rho.size))
    y = rho * x + np.sqrt(1 - rho**2) * rng.standard_normal((n, rho.size))
    la, _ = equiprobable_levels(x, bits)
    lb, _ = equiprobable_levels(y, bits)
    sb = normal_scores(y)
    bits = np.asarray(bits, dtype=np.int64)
    counts = np.full(rho.size, n, dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(counts * bits)[:-1]])
    return ReconciliationProblem(
        bits_a=np.concatenate([gray_code(la[:, i], bits[i]).reshape(-1) for i in range(rho.size)]),
        bits_b=np.concatenate([gray_code(lb[:, i], bits[i]).reshape(-1) for i in range(rho.size)]),
        offsets=offsets,
        n_samples=counts,
        bits=bits,
        rho=rho,
        scores_b=tuple(sb[:, i] for i in range(rho.size)),
        qber=0.1,
        n_rounds=n,
    )


def revealed_by_brute_force(transcript, bits_a, n):
    """n - log2 #{x in {0,1}^n with the same disclosed parities as Alice's string}."""
    rows = [np.asarray(t) for t in transcript]
    target = [int(bits_a[r].sum() & 1) for r in rows]
    hits = 0
    for x in itertools.product((0, 1), repeat=n):
        xv = np.asarray(x)
        if all(int(xv[r].sum() & 1) == t for r, t in zip(rows, target, strict=True)):
            hits += 1
    return n - math.log2(hits)


@pytest.mark.parametrize("scheme", ["ldpc", "cascade"])
def test_leak_accounting_never_undercounts_brute_force(scheme, seed, monkeypatch):
    """Tiny blocks (14 bits): the information the transcript reveals about Alice's string,
    counted by enumerating all 2^14 strings, equals the GF(2) rank and never exceeds the
    reported disclosure (the final hash is counted on top)."""
    monkeypatch.setattr(lr, "MIN_SYNDROME_BITS", 1)  # let the codes (not full disclosure) run
    monkeypatch.setattr(lr, "PLANE_HASH_BITS", 2)
    rng = np.random.default_rng(seed)
    for trial in range(3):
        p = gaussian_problem(rng, 7, [0.97 - 0.05 * trial], [2])
        if scheme == "ldpc":
            r = lr.ldpc_scheme(p, rng, verify_bits=4, efficiency=1.0, n_sim=256)
        else:
            r = cascade_scheme(p, rng, verify_bits=4)
        assert r.disclosed_bits == r.parity_bits + r.verify_bits
        # every disclosed bit is in the transcript (a plane disclosed outright after failed
        # decoding is counted as its length, which bounds the rank of all its parities)
        assert len(r.transcript) >= r.parity_bits
        revealed = revealed_by_brute_force(r.transcript, p.bits_a, p.bits_a.size)
        assert revealed == pytest.approx(disclosed_rank(r.transcript, p.bits_a.size), abs=1e-9)
        assert revealed <= r.parity_bits + 1e-9


def test_split_rows_adds_exactly_one_bit_of_information_per_split(rng):
    code = irregular_parity_check(6, 40, rng)
    before = [r.copy() for r in code.rows]
    rank0 = disclosed_rank(before, 40)
    chosen = split_rows(code, 3, rng)
    assert len(chosen) == 3 and code.m == 9
    disclosed = before + [code.rows[i] for i in chosen]  # old syndrome + the new half parities
    assert disclosed_rank(disclosed, 40) == disclosed_rank(code.rows, 40) <= rank0 + 3
    # the old rows stay implied: each is the XOR of its two halves
    for i, j in zip(chosen, range(6, 9), strict=True):
        assert sorted(np.concatenate([code.rows[i], code.rows[j]]).tolist()) == sorted(
            before[i].tolist()
        )


@pytest.mark.parametrize("rho, bits", [(0.95, 2), (0.995, 4), (0.99999, 8)])
def test_ldpc_reconciles_with_leak_near_conditional_entropy(rho, bits, seed):
    """Bob recovers Alice's bits exactly; the disclosure stays within 1.6 x H(Q | Y) (model)
    plus fixed costs, far below the raw bit count."""
    from plkg.keygen.gaussian_model import plane_conditional_entropies

    rng = np.random.default_rng(seed)
    p = gaussian_problem(rng, 1024, [rho] * 4, [bits] * 4)
    r = lr.ldpc_scheme(p, rng)
    assert r.success and np.array_equal(r.bits_b, p.bits_a)
    h = plane_conditional_entropies(p.rho[:1], bits, np.random.default_rng(1), 8192, 1024)
    floor = 4 * 1024 * h.sum()
    assert r.parity_bits >= 0.9 * floor  # cannot beat Slepian-Wolf (model estimate, MC noise)
    assert r.parity_bits <= 1.6 * floor + bits * (16 + 2 * lr.PLANE_HASH_BITS) * 4
    assert r.scheme == "ldpc" and r.disclosed_bits == r.parity_bits + 32
