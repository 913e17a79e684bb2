"""Key generation pipeline: measurements -> quantise -> reconcile -> privacy-amplify.

System-agnostic: it takes both ends' measurements of the same probing rounds as a pair of arrays
[n_rounds, ...] (near-field Eqs. (8)/(11) of the near-field paper, RIS Eqs. (2)-(6) of the RIS
paper, or the user's own paired measurements) and returns both ends' final keys with the
statistics of every stage. Adaptors for the two systems live in
:mod:`plkg.keygen.nearfield_keys` and :mod:`plkg.keygen.ris_keys`.

Stages and the public messages they cost:

1. Decorrelation (:mod:`plkg.keygen.decorrelation`) unless the caller gives the public
   per-component correlations of already independent components; per-component correlation
   rho (public second-order statistics, as the papers assume known statistics) and alignment of
   Bob's phase (complex) or sign (real) to Alice's. The basis, rho and the phases are announced,
   so by default (``basis_from="training"``) they are estimated from the first
   ``ceil(training_fraction * n)`` rounds of the block (at least 4), whose samples are then
   published and discarded: with independent rounds the public statistics are independent of the
   key rounds and leak nothing about them. ``basis_from="block"`` estimates them from the key
   rounds themselves (their leak is NOT counted; comparisons only).
2. Quantisation (:mod:`plkg.keygen.quantization`) at each end: equiprobable, Gray-coded, with
   b bits per real sample chosen per component from rho (:mod:`plkg.keygen.adaptive_bits`) or
   fixed; with a guard band the indices of dropped samples are exchanged (indices only). The
   indices depend on both ends' samples, but the ``"exchangeable"`` entropy estimate is the
   min-entropy given them: for exchangeable rounds a permutation of the kept rounds maps the
   announced mask to itself, so given the mask and the kept level counts every arrangement of
   the kept levels is equally likely. A guard band therefore requires that estimator.
3. Reconciliation through one interface (:mod:`plkg.keygen.reconciliation_interface`):
   ``"ldpc"`` (:mod:`plkg.keygen.ldpc_reconciliation`, one-way syndromes per bit plane with
   Bob's soft information, code rate from rho) or ``"cascade"``
   (:mod:`plkg.keygen.reconciliation`; a random ``qber_sample_fraction`` of samples is
   disclosed and discarded to estimate the QBER unless ``qber`` is given). Every disclosed
   syndrome, parity and hash bit is counted, and so is every public answer of Bob (one bit per
   decoding attempt and verification). Cascade's answers to Alice's parities reveal the error
   pattern a XOR b (the binary searches locate every error): the entropy estimate is then taken
   given the error pattern of every sample (rounds are exchangeable only among samples with
   the same pattern), which covers those answers. The verification hash has
   ``ceil(log2(v / eps_cor))`` bits for at most v verifications per block (v = 1 for LDPC,
   1 + ``max_extra_passes`` for Cascade).
4. Entropy estimate H of Alice's reconciled symbols (:mod:`plkg.keygen.entropy`; per-component
   estimates minus a penalty for dependence between components and rounds) and Toeplitz
   privacy amplification to ell = floor(min(n, H) - leak - 2 log2(1/eps_sec)) bits
   (:mod:`plkg.keygen.privacy_amplification`, leftover hash lemma), where leak is the sum of
   the disclosed bits, Bob's answers and ``ceil(log2(n + 1))`` bits for announcing ell.

Each block is then eps_cor-correct and eps_sec-secret (together (eps_sec + eps_cor)-secure)
under the assumptions listed by :func:`security_assumptions`.

The parts live in their own modules: the parameters in :mod:`plkg.keygen.config`, stage 1
in :mod:`plkg.keygen.alignment`, the per-block result and totals in
:mod:`plkg.keygen.key_result` and the assumptions in :mod:`plkg.keygen.security_assumptions`;
this module runs the stages on a block.
"""

from __future__ import annotations

import math

import numpy as np

from plkg.keygen.adaptive_bits import choose_bits_per_component
from plkg.keygen.alignment import _aligned_pairs_and_training
from plkg.keygen.alignment import aligned_real_pairs as aligned_real_pairs
from plkg.keygen.alignment import real_shape as real_shape
from plkg.keygen.alignment import training_round_count as training_round_count
from plkg.keygen.config import BASIS_SOURCES as BASIS_SOURCES
from plkg.keygen.config import DEFAULT_TRAINING_FRACTION as DEFAULT_TRAINING_FRACTION
from plkg.keygen.config import ENTROPY_METHODS as ENTROPY_METHODS
from plkg.keygen.config import MIN_KEY_ROUNDS as MIN_KEY_ROUNDS
from plkg.keygen.config import MIN_TRAINING_ROUNDS as MIN_TRAINING_ROUNDS
from plkg.keygen.config import RECONCILIATIONS as RECONCILIATIONS
from plkg.keygen.config import KeyGenConfig
from plkg.keygen.decorrelation import decorrelate
from plkg.keygen.entropy import component_entropy_bits, dependence_penalty_bits
from plkg.keygen.gaussian_model import normal_scores, plane_conditional_entropies
from plkg.keygen.key_result import KeyPairResult
from plkg.keygen.key_result import aggregate as aggregate
from plkg.keygen.ldpc_reconciliation import ldpc_scheme
from plkg.keygen.privacy_amplification import length_announcement_bits, privacy_amplify
from plkg.keygen.quantization import (
    bit_disagreement_ratio,
    equiprobable_levels,
    gray_code,
    quantize,
    real_features,
)
from plkg.keygen.reconciliation import cascade_scheme
from plkg.keygen.reconciliation_interface import ReconciliationProblem, ReconciliationResult
from plkg.keygen.security_assumptions import security_assumptions as security_assumptions


def quantize_pair(z_a, z_b, config: KeyGenConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Quantise both ends with a fixed b and keep the samples outside both guard bands.

    For statistics of the quantised bits (BDR, NIST on raw bits): the decorrelation is fitted
    on the same rounds. Keys go through :func:`generate_key_pair`.

    ``config.bits_per_sample`` must be set (the per-component choice needs
    :func:`generate_key_pair`).

    Returns
    -------
    bits_a, bits_b : ndarray [n_kept, b], int8
        Bits of the kept samples (one row per sample).
    keep : ndarray [n_rounds, D], bool
    """
    if config.bits_per_sample is None and config.quantizer == "equiprobable":
        raise ValueError("quantize_pair needs a fixed bits_per_sample")
    b = config.bits_per_sample or 1
    za, zb = np.asarray(z_a), np.asarray(z_b)
    if za.shape != zb.shape:
        raise ValueError(f"the two ends' measurements differ in shape: {za.shape} vs {zb.shape}")
    za, zb = decorrelate(
        za, zb, config.decorrelation, config.decorrelate_rtol, config.max_components
    )
    xa, xb = real_features(za), real_features(zb)
    qa = quantize(xa, config.quantizer, b, config.guard)
    qb = quantize(xb, config.quantizer, b, config.guard)
    keep = qa.keep & qb.keep
    return qa.bits[keep], qb.bits[keep], keep


def choose_bits(rho, n_rounds: int, config: KeyGenConfig, rng: np.random.Generator) -> np.ndarray:
    """Bits per real component: fixed, or by the rule of :mod:`plkg.keygen.adaptive_bits`."""
    rho = np.asarray(rho, dtype=np.float64)
    if config.quantizer == "mean-threshold":
        return np.ones(rho.size, dtype=np.int64)
    if config.bits_per_sample is not None:
        return np.full(rho.size, int(config.bits_per_sample), dtype=np.int64)
    cap = config.max_bits_per_sample
    if config.guard > 0:  # the 2^b - 1 bands drop at most a quarter of the samples
        cap = max(1, min(cap, int(math.floor(math.log2(0.25 / config.guard + 1.0)))))
    h = plane_conditional_entropies(rho, cap, rng, n_sim=2048, n_rounds=n_rounds)
    return choose_bits_per_component(h, n_rounds, cap, config.design_efficiency)


def _quantize_levels(xa, xb, bits, config):
    """Levels and kept-sample masks of both ends, [n_rounds, R] each."""
    if config.quantizer == "mean-threshold":
        qa = quantize(xa, "mean-threshold", 1, config.guard)
        qb = quantize(xb, "mean-threshold", 1, config.guard)
        return qa.bits[..., 0].astype(np.int64), qb.bits[..., 0].astype(np.int64), qa.keep & qb.keep
    la, ka = equiprobable_levels(xa, bits, config.guard)
    lb, kb = equiprobable_levels(xb, bits, config.guard)
    return la, lb, ka & kb


def _basis_source(config: KeyGenConfig, correlation) -> str:
    return "public" if correlation is not None else config.basis_from


def _no_key_result(n_rounds, bits, note, training_rounds=0, basis_source="public"):
    empty = np.zeros(0, dtype=np.int8)
    rec = ReconciliationResult(empty, note, 0, 0, 0, 0, 0, 0, (), "none")
    return KeyPairResult(
        key_a=empty,
        key_b=empty,
        n_rounds=int(n_rounds),
        raw_bits=0,
        sample_bits=0,
        bdr_before=float("nan"),
        bdr_after=float("nan"),
        qber_estimate=float("nan"),
        disclosed_bits=0,
        entropy_bits=0.0,
        final_key_bits=0,
        keys_agree=False,
        key_agreement_ratio=float("nan"),
        reconciliation=rec,
        bits_per_component=np.asarray(bits, dtype=np.int64),
        training_rounds=int(training_rounds),
        basis_source=basis_source,
    )


def _qber_sample(cols, config, rng):
    """Cascade: disclose and drop a random fraction of every component's samples."""
    total = sum(c["la"].size for c in cols)
    n_sample = max(1, int(round(config.qber_sample_fraction * total)))
    pick = np.zeros(total, dtype=bool)
    pick[rng.choice(total, size=min(n_sample, total - 1), replace=False)] = True
    errs = bits_seen = start = 0
    for c in cols:
        sel = pick[start : start + c["la"].size]
        start += c["la"].size
        ga, gb = gray_code(c["la"][sel], c["b"]), gray_code(c["lb"][sel], c["b"])
        errs += int(np.count_nonzero(ga != gb))
        bits_seen += ga.size
        for key in ("la", "lb", "yb"):
            c[key] = c[key][~sel]
    qber = float(min(max(errs / max(bits_seen, 1), 1.0 / max(bits_seen, 1)), 0.49))
    return qber, bits_seen


def generate_key_pair(
    z_a, z_b, rng: np.random.Generator, config: KeyGenConfig | None = None, correlation=None
) -> KeyPairResult:
    """Run the whole pipeline on one block of probing rounds.

    Parameters
    ----------
    z_a, z_b : array_like, shape [n_rounds, ...], complex or real
        Alice's and Bob's measurements of the same rounds (same shape).
    rng : numpy.random.Generator
        Public randomness: model simulation, QBER sample, codes, permutations, hash seeds.
    config : KeyGenConfig or None
    correlation : array_like [prod(...)] or None
        Public correlation of already independent components (see :func:`aligned_real_pairs`).
    """
    config = config or KeyGenConfig()
    xa, xb, rho, n_train = _aligned_pairs_and_training(z_a, z_b, config, correlation)
    n_block = int(np.asarray(z_a).shape[0])
    n_rounds = xa.shape[0]  # key rounds
    bits = choose_bits(rho, n_rounds, config, rng)
    if not bits.any():
        return _no_key_result(
            n_block,
            bits,
            "no component worth quantising",
            n_train,
            _basis_source(config, correlation),
        )
    la, lb, keep = _quantize_levels(xa, xb, bits, config)
    scores_b = normal_scores(xb)
    cols = [
        {
            "b": int(bits[i]),
            "rho": float(rho[i]),
            "la": la[keep[:, i], i],
            "lb": lb[keep[:, i], i],
            "yb": scores_b[keep[:, i], i],
        }
        for i in range(bits.size)
        if bits[i] > 0 and keep[:, i].any()
    ]
    n_sym = sum(c["la"].size for c in cols)
    if n_sym < 4:
        raise ValueError(f"only {n_sym} samples survive the guard band; need at least 4")
    bdr_before = bit_disagreement_ratio(
        np.concatenate([gray_code(c["la"], c["b"]).reshape(-1) for c in cols]),
        np.concatenate([gray_code(c["lb"], c["b"]).reshape(-1) for c in cols]),
    )
    raw_bits = sum(c["la"].size * c["b"] for c in cols)
    if config.reconciliation == "cascade" and config.qber is None:
        qber, sample_bits = _qber_sample(cols, config, rng)
    else:
        qber, sample_bits = (bdr_before if config.qber is None else float(config.qber)), 0
    problem = _problem(cols, qber, n_rounds)
    rec = _reconcile(problem, rng, config)
    bits_a = problem.bits_a
    bdr_after = bit_disagreement_ratio(bits_a, rec.bits_b)
    entropy = component_entropy_bits(
        [c["la"] for c in cols],
        [c["b"] for c in cols],
        config.entropy_method,
        _dependence_bits(xa, bits, keep, config),
        _error_classes(problem) if rec.error_pattern_public else None,
    )
    length_bits = 0
    if rec.success:
        # Alice announces ell (a function of her data): one of n + 1 values
        length_bits = length_announcement_bits(bits_a.size)
        leak = rec.leak_bits + length_bits
        pa_a = privacy_amplify(bits_a, entropy, leak, rng, config.margin_bits)
        pa_b = privacy_amplify(
            rec.bits_b,
            entropy,
            leak,
            security_margin_bits=config.margin_bits,
            seed_bits=pa_a.seed,
        )
        key_a, key_b = pa_a.key, pa_b.key
    else:  # detected failure: both ends discard the block
        key_a = key_b = np.zeros(0, dtype=np.int8)
    agree = bool(key_a.size > 0 and np.array_equal(key_a, key_b))
    ratio = float("nan") if key_a.size == 0 else float(np.mean(key_a == key_b))
    return KeyPairResult(
        key_a=key_a,
        key_b=key_b,
        n_rounds=n_block,
        raw_bits=int(raw_bits),
        sample_bits=int(sample_bits),
        bdr_before=bdr_before,
        bdr_after=bdr_after,
        qber_estimate=float(qber),
        disclosed_bits=int(rec.disclosed_bits),
        entropy_bits=float(entropy),
        final_key_bits=int(key_a.size),
        keys_agree=agree,
        key_agreement_ratio=ratio,
        reconciliation=rec,
        bits_per_component=bits,
        training_rounds=n_train,
        reply_bits=int(rec.reply_bits),
        length_bits=int(length_bits),
        leak_bits=int(rec.leak_bits + length_bits),
        margin_bits=float(config.margin_bits),
        basis_source=_basis_source(config, correlation),
    )


def key_blocks(
    z_a,
    z_b,
    rng: np.random.Generator,
    config: KeyGenConfig | None,
    block_rounds: int,
    correlation=None,
    progress=None,
    label: str = "",
) -> list[KeyPairResult]:
    """:func:`generate_key_pair` on consecutive blocks of ``block_rounds`` rounds (rest dropped).

    ``progress(label)``, when given, is called after every block (a progress bar's tick; a
    pending Ctrl-C / SIGTERM is raised between blocks).
    """
    n = int(np.asarray(z_a).shape[0])
    out = []
    for s in range(0, n - int(block_rounds) + 1, int(block_rounds)):
        out.append(
            generate_key_pair(
                z_a[s : s + block_rounds], z_b[s : s + block_rounds], rng, config, correlation
            )
        )
        if progress is not None:
            progress(label)
    return out


def _dependence_bits(xa, bits, keep, config) -> float:
    """Dependence penalty on Alice's normal scores of the quantised components (all rounds)."""
    if config.dependence_lags is None or config.entropy_method == "ideal":
        return 0.0
    used = (np.asarray(bits) > 0) & keep.any(axis=0)
    return dependence_penalty_bits(normal_scores(xa[:, used]), config.dependence_lags)


def _error_classes(problem: ReconciliationProblem) -> list[np.ndarray]:
    """Per component, each sample's error pattern (b bits of a XOR b, as an integer) [n_i]."""
    err = (np.asarray(problem.bits_a) ^ np.asarray(problem.bits_b)).astype(np.int64)
    out = []
    for off, n_i, b in zip(problem.offsets, problem.n_samples, problem.bits, strict=True):
        e = err[int(off) : int(off) + int(n_i) * int(b)].reshape(int(n_i), int(b))
        out.append(e @ (1 << np.arange(int(b) - 1, -1, -1, dtype=np.int64)))
    return out


def _problem(cols, qber, n_rounds) -> ReconciliationProblem:
    counts = np.array([c["la"].size for c in cols], dtype=np.int64)
    bits = np.array([c["b"] for c in cols], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(counts * bits)[:-1]]).astype(np.int64)
    return ReconciliationProblem(
        bits_a=np.concatenate([gray_code(c["la"], c["b"]).reshape(-1) for c in cols]),
        bits_b=np.concatenate([gray_code(c["lb"], c["b"]).reshape(-1) for c in cols]),
        offsets=offsets,
        n_samples=counts,
        bits=bits,
        rho=np.array([c["rho"] for c in cols]),
        scores_b=tuple(c["yb"] for c in cols),
        qber=float(qber),
        n_rounds=int(n_rounds),
    )


def _reconcile(problem, rng, config) -> ReconciliationResult:
    if config.reconciliation == "ldpc":
        return ldpc_scheme(
            problem, rng, verify_bits=config.verify_bits, efficiency=config.ldpc_efficiency
        )
    return cascade_scheme(
        problem,
        rng,
        n_passes=config.n_passes,
        verify_bits=config.verify_bits,
        max_extra_passes=config.max_extra_passes,
    )
