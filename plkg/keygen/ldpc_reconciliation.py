"""One-way syndrome reconciliation with LDPC codes, decoded per Gray bit plane with soft information.

Multilevel coding with multistage decoding (Slepian-Wolf coding of Alice's levels with Bob's
measurement as side information):

1. For bit plane l = 0, 1, ... (most significant first) the frame is plane l of every sample of
   every component with more than l bits.
2. Its syndrome length is m = ceil(f_0 * H_l) + ``min_syndrome_bits``, with H_l the expected
   conditional entropy of the frame under the public Gaussian model
   (:func:`plkg.keygen.gaussian_model.plane_conditional_entropies`): the code rate follows the
   estimated disagreement. Alice discloses the syndrome H a of an irregular LDPC code
   (:func:`plkg.keygen.ldpc_code.irregular_parity_check`).
3. Bob's log-likelihood ratios come from his normal scores and the planes he has already decoded
   (:func:`plkg.keygen.gaussian_model.plane_bit_posterior`); belief propagation (the ``ldpc``
   package's ``BpDecoder``, product-sum) finds the error pattern e with H e = H a + H b_hard.
4. After BP converges, a ``PLANE_HASH_BITS``-bit Toeplitz hash of the plane confirms the
   solution (BP can converge to another word with the same syndrome). If BP does not converge
   or the hash differs, rows are split (:func:`plkg.keygen.ldpc_code.split_rows`),
   each split disclosing one more bit; every attempt adds ``step`` times the syndrome bits so
   far (at least 8). When the syndrome would
   reach the frame length the plane is disclosed outright (counted as its length).
5. A Toeplitz hash of ``verify_bits`` bits of the whole string confirms equality (a false
   success has probability <= 2^-verify_bits); a mismatch or a plane that could not be decoded
   marks the block ``"failed"``.

Disclosed bits = all syndrome bits (including splits) + plane and final hash bits: each is one parity of
Alice's bits, recorded in the transcript, so the count bounds the information revealed.
Bob answers every decoding attempt (accept, or ask for more syndrome bits) and the final hash
(accept / reject) in public; these answers depend on his measurements and are counted as one
bit each in ``reply_bits`` (a plane disclosed outright because its syndrome would reach the
frame length is decided from public statistics and needs no answer).
"""

from __future__ import annotations

import math

import numpy as np

from plkg.keygen.gaussian_model import plane_bit_posterior, plane_conditional_entropies
from plkg.keygen.ldpc_code import irregular_parity_check, split_rows
from plkg.keygen.privacy_amplification import toeplitz_hash
from plkg.keygen.reconciliation_interface import ReconciliationProblem, ReconciliationResult

DEFAULT_INITIAL_EFFICIENCY = 1.1
DEFAULT_SPLIT_STEP = 0.1
DEFAULT_MAX_ATTEMPTS = 16
DEFAULT_BP_ITERATIONS = 60
MIN_SYNDROME_BITS = 16
#: Hash bits disclosed after every converged decoding attempt of a plane.
PLANE_HASH_BITS = 16
#: Floor of Bob's bit-error probabilities (``abs(LLR) <= 13.8``): bounds the damage of a rare
#: bit the model deems certain.
MIN_ERROR_PROBABILITY = 1e-6


def _decode(code, syndrome_a, hard, p_err, max_iter):
    from ldpc import BpDecoder

    target = syndrome_a ^ code.syndrome(hard)
    if not target.any():
        return np.zeros(hard.size, dtype=np.uint8), True
    decoder = BpDecoder(
        code.csr(), error_channel=p_err, max_iter=int(max_iter), bp_method="product_sum"
    )
    err = np.asarray(decoder.decode(target), dtype=np.uint8)
    return err, bool(decoder.converge)


def _hash_rows(seed, n, m, frame_idx):
    """Index sets of the Toeplitz hash bits y_i = sum_j s[i - j + n - 1] x_j (transcript)."""
    j = np.arange(n)
    return [frame_idx[seed[i - j + n - 1] == 1] for i in range(m)]


def _decode_plane(a_bits, hard, p_err, expected_bits, rng, opts, transcript, frame_idx):
    """Reconcile one frame; returns (Bob's bits, disclosed count, attempts, ok).

    ``attempts`` is the number of decoding attempts Bob answered in public (0 when the plane is
    disclosed outright from the start).
    """
    n = a_bits.size
    m = int(math.ceil(opts["efficiency"] * expected_bits)) + MIN_SYNDROME_BITS
    if m >= n:  # no gain from coding: disclose the plane
        transcript.extend(frame_idx[i : i + 1] for i in range(n))
        return a_bits.astype(np.int8).copy(), n, 0, True
    code = irregular_parity_check(m, n, rng)
    transcript.extend(frame_idx[row] for row in code.rows)
    disclosed = m
    attempts = 0
    for attempt in range(1, opts["max_attempts"] + 1):
        attempts = attempt
        err, converged = _decode(code, code.syndrome(a_bits), hard, p_err, opts["max_iter"])
        if converged:  # BP may converge to another solution: a short hash of the plane checks
            guess = (hard ^ err).astype(np.int8)
            seed = rng.integers(0, 2, size=n + PLANE_HASH_BITS - 1, dtype=np.int8)
            transcript.extend(_hash_rows(seed, n, PLANE_HASH_BITS, frame_idx))
            disclosed += PLANE_HASH_BITS
            if np.array_equal(
                toeplitz_hash(a_bits, PLANE_HASH_BITS, seed),
                toeplitz_hash(guess, PLANE_HASH_BITS, seed),
            ):
                return guess, disclosed, attempt, True
        step = max(MIN_SYNDROME_BITS // 2, int(math.ceil(opts["step"] * disclosed)))
        if disclosed + step >= n:
            break
        new_rows = split_rows(code, step, rng)
        if not new_rows:
            break
        transcript.extend(frame_idx[code.rows[r]] for r in new_rows)
        disclosed += len(new_rows)
    # coding failed: disclose the whole plane; the information revealed is then n bits in all
    transcript.extend(frame_idx[i : i + 1] for i in range(n))
    return a_bits.astype(np.int8).copy(), n, attempts, True


def ldpc_scheme(
    problem: ReconciliationProblem,
    rng: np.random.Generator,
    verify_bits: int = 32,
    efficiency: float = DEFAULT_INITIAL_EFFICIENCY,
    step: float = DEFAULT_SPLIT_STEP,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    max_iter: int = DEFAULT_BP_ITERATIONS,
    n_sim: int = 4096,
) -> ReconciliationResult:
    """Reconcile Bob's bits to Alice's by per-plane LDPC syndromes (see the module docstring).

    Parameters
    ----------
    problem : ReconciliationProblem
    rng : numpy.random.Generator
        Public randomness: codes, row splits, model simulation, hash seed.
    verify_bits : int
        Length of the final verification hash (>= 0; 0 trusts BP convergence).
    efficiency : float
        f_0 >= 1, first syndrome length over the expected conditional entropy.
    step : float
        Fraction of the first syndrome length added per failed attempt.
    max_attempts : int
        Decoding attempts per plane before the plane is disclosed.
    max_iter : int
        BP iterations per attempt.
    n_sim : int
        Simulated pairs per component for the expected conditional entropies.
    """
    for name, value, lo in (("efficiency", efficiency, 1.0), ("step", step, 1e-6)):
        if not (math.isfinite(value) and value >= lo):
            raise ValueError(f"{name} must be >= {lo}, got {value!r}")
    if int(verify_bits) != verify_bits or verify_bits < 0:
        raise ValueError(f"verify_bits must be an integer >= 0, got {verify_bits!r}")
    opts = {"efficiency": efficiency, "step": step, "max_attempts": int(max_attempts)}
    opts["max_iter"] = int(max_iter)
    a = np.asarray(problem.bits_a, dtype=np.int8)
    bob = np.asarray(problem.bits_b, dtype=np.int8).copy()
    bits = np.asarray(problem.bits, dtype=np.int64)
    n_planes = int(bits.max()) if bits.size else 0
    h = plane_conditional_entropies(
        problem.rho, max(n_planes, 1), rng, n_sim, n_rounds=problem.n_rounds
    )
    prefixes = [np.zeros(int(c), dtype=np.int64) for c in problem.n_samples]
    transcript: list[np.ndarray] = []
    disclosed = attempts = longest = 0
    for plane in range(n_planes):
        comps = [i for i in range(bits.size) if bits[i] > plane]
        idx = np.concatenate([problem.plane_indices(i, plane) for i in comps])
        p1 = np.concatenate(
            [
                plane_bit_posterior(
                    problem.scores_b[i], problem.rho[i], prefixes[i], plane, problem.n_rounds
                )
                for i in comps
            ]
        )
        hard = (p1 > 0.5).astype(np.uint8)
        p_err = np.clip(np.minimum(p1, 1.0 - p1), MIN_ERROR_PROBABILITY, 0.5)
        expected = float(sum(h[i, plane] * problem.n_samples[i] for i in comps))
        got, count, tries, _ = _decode_plane(
            a[idx].astype(np.uint8), hard, p_err, expected, rng, opts, transcript, idx
        )
        disclosed += count
        attempts += tries
        longest = max(longest, idx.size)
        bob[idx] = got
        start = 0
        for i in comps:  # Bob's prefix of Alice's level grows by the decoded plane
            n_i = int(problem.n_samples[i])
            bit = got[start : start + n_i].astype(np.int64)
            first = (2 * prefixes[i]) ^ prefixes[i]  # Gray parity of child 2c is that of c
            prefixes[i] = 2 * prefixes[i] + (bit != (first & 1))
            start += n_i
    status, hash_bits = _verify(a, bob, verify_bits, rng)
    replies = attempts + (1 if hash_bits else 0)  # one public answer per attempt + the verdict
    return ReconciliationResult(
        bits_b=bob,
        status=status,
        iterations=attempts,
        objective=int(np.count_nonzero(bob != problem.bits_b)),
        disclosed_bits=disclosed + hash_bits,
        parity_bits=disclosed,
        verify_bits=hash_bits,
        block_size=longest,
        transcript=tuple(transcript),
        scheme="ldpc",
        reply_bits=replies,
    )


def _verify(a, bob, verify_bits, rng):
    if verify_bits == 0:
        return "verified", 0
    seed = rng.integers(0, 2, size=a.size + verify_bits - 1, dtype=np.int8)
    same = np.array_equal(
        toeplitz_hash(a, verify_bits, seed), toeplitz_hash(bob, verify_bits, seed)
    )
    return ("verified" if same else "failed"), verify_bits
