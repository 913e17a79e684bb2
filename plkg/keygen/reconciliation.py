"""Information reconciliation with the Cascade protocol (Brassard and Salvail, EUROCRYPT 1993).

Alice's string is the reference; Bob corrects his. Every parity Alice reveals on the public
channel is one disclosed bit and is recorded in a transcript (the index set whose parity was
revealed), so the count is exact and can be replayed. Sub-block parities are cached, so a parity
is never disclosed twice. After the passes both ends compare a Toeplitz hash of
``verify_bits`` bits (also disclosed); a mismatch marks the run as failed (the key is discarded),
and a false "success" has probability <= 2^-verify_bits per verification (up to
1 + ``max_extra_passes`` of them, each with a fresh seed).

Bob's side of the discussion is public as well: for every parity Alice discloses he answers
whether his own parity matches (a block to search, or which half holds the error), and after
every verification hash whether it matches. Given Alice's public parities each answer is a
parity of the error pattern E = a XOR b, and the binary searches reveal the position of every
corrected error: after a successful run E itself is public. For multi-bit Gray planes E is
correlated with Alice's bits (errors fall next to thresholds), so the result says
``error_pattern_public=True`` and the pipeline conditions its entropy estimate on E
(:func:`plkg.keygen.entropy.component_entropy_bits` with ``classes``); the parity answers are
functions of E and need no further count. The verification answers are counted anyway, one bit
each, in ``reply_bits``.

Protocol parameters (``docs/assumptions.md``): first-pass block size k_1 = ceil(0.73 / QBER)
(Brassard-Salvail), doubled every pass, a fresh public random permutation for passes >= 2, and
the cascade step (every corrected bit re-opens the blocks that contain it in earlier passes).
"""

from __future__ import annotations

import math

import numpy as np

from plkg.keygen.privacy_amplification import toeplitz_hash
from plkg.keygen.reconciliation_interface import ReconciliationProblem, ReconciliationResult

__all__ = [
    "ParityChannel",
    "ReconciliationResult",
    "cascade_reconcile",
    "cascade_scheme",
    "disclosed_rank",
    "initial_block_size",
]


class ParityChannel:
    """Alice's side of the public channel: answers parity queries and counts them.

    Attributes
    ----------
    transcript : list of ndarray
        Index sets whose parity Alice disclosed, in order.
    """

    def __init__(self, bits_a: np.ndarray):
        self._bits = np.asarray(bits_a, dtype=np.int8)
        self.transcript: list[np.ndarray] = []

    @property
    def disclosed_bits(self) -> int:
        return len(self.transcript)

    def parity(self, indices: np.ndarray) -> int:
        self.transcript.append(np.asarray(indices, dtype=np.int64).copy())
        return int(self._bits[indices].sum() & 1)


def initial_block_size(qber: float, n: int) -> int:
    """k_1 = ceil(0.73 / QBER), clipped to [4, n] (Brassard-Salvail's choice)."""
    if not (np.isfinite(qber) and 0 <= qber < 0.5):
        raise ValueError(f"QBER must lie in [0, 0.5), got {qber}")
    if qber == 0:
        return max(1, n)
    return int(min(max(4, math.ceil(0.73 / qber)), max(n, 1)))


def cascade_reconcile(
    bits_a,
    bits_b,
    qber: float,
    rng: np.random.Generator,
    n_passes: int = 4,
    verify_bits: int = 32,
    max_extra_passes: int = 4,
) -> ReconciliationResult:
    """Reconcile Bob's bits to Alice's with Cascade.

    Parameters
    ----------
    bits_a, bits_b : array_like, shape [n], 0/1
        Alice's (reference) and Bob's strings, n >= 1.
    qber : float
        Estimated bit disagreement ratio in [0, 0.5); sets the first block size.
    rng : numpy.random.Generator
        Source of the public permutations and of the verification hash seed.
    n_passes : int
        Number of Cascade passes (>= 1).
    verify_bits : int
        Length of the verification hash (>= 0; 0 skips verification and reports ``"verified"``
        without proof of equality).
    max_extra_passes : int
        After a failed verification, up to this many extra passes (block size 2 k_1, fresh
        permutation), each followed by a new verification hash. All disclosures are counted.
    """
    a = np.asarray(bits_a)
    b = np.asarray(bits_b)
    if a.ndim != 1 or a.shape != b.shape:
        raise ValueError(
            f"bit strings must be 1-D and of equal length, got {a.shape} and {b.shape}"
        )
    if a.size == 0:
        raise ValueError("cannot reconcile empty bit strings")
    if not (np.isin(a, (0, 1)).all() and np.isin(b, (0, 1)).all()):
        raise ValueError("reconciliation input must be binary (0/1)")
    if int(n_passes) != n_passes or n_passes < 1:
        raise ValueError(f"n_passes must be an integer >= 1, got {n_passes!r}")
    if int(max_extra_passes) != max_extra_passes or max_extra_passes < 0:
        raise ValueError(f"max_extra_passes must be an integer >= 0, got {max_extra_passes!r}")
    if int(verify_bits) != verify_bits or verify_bits < 0:
        raise ValueError(f"verify_bits must be an integer >= 0, got {verify_bits!r}")
    a = a.astype(np.int8)
    bob = b.astype(np.int8).copy()
    n = a.size
    k1 = initial_block_size(qber, n)
    channel = ParityChannel(a)
    cache: dict[tuple[int, int, int, int], int] = {}

    passes: list[tuple[list[np.ndarray], np.ndarray]] = []

    def alice_parity(p: int, blk: int, lo: int, hi: int) -> int:
        key = (p, blk, lo, hi)
        if key not in cache:
            cache[key] = channel.parity(passes[p][0][blk][lo:hi])
        return cache[key]

    replies = 0  # Bob's verification verdicts (his parity answers are functions of E)

    def bob_parity(idx: np.ndarray) -> int:
        return int(bob[idx].sum() & 1)

    def binary_search(p: int, blk: int) -> int:
        idx = passes[p][0][blk]
        lo, hi = 0, idx.size
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if alice_parity(p, blk, lo, mid) != bob_parity(idx[lo:mid]):
                hi = mid
            else:
                lo = mid
        return int(idx[lo])

    flips = 0
    verify_disclosed = 0
    status = "failed"
    total_passes = n_passes + max_extra_passes
    for p in range(total_passes):
        if p < n_passes:
            block = min(k1 * 2**p, max(n // 2, 1)) if p else k1
        else:  # extra pass after a failed verification
            block = min(2 * k1, max(n // 2, 1))
        order = np.arange(n) if p == 0 else rng.permutation(n)
        blocks = [order[i : i + block] for i in range(0, n, block)]
        block_of = np.empty(n, dtype=np.int64)
        for j, blk in enumerate(blocks):
            block_of[blk] = j
        passes.append((blocks, block_of))
        queue = [(p, j) for j in range(len(blocks))]
        while queue:
            q, j = queue.pop()
            idx = passes[q][0][j]
            if alice_parity(q, j, 0, idx.size) == bob_parity(idx):
                continue
            err = binary_search(q, j)
            bob[err] ^= 1
            flips += 1
            # cascade: the blocks of the other passes that contain err change parity
            for r in range(p + 1):
                if r != q:
                    queue.append((r, int(passes[r][1][err])))
        if p + 1 < n_passes:
            continue
        if verify_bits == 0:
            status = "verified"
            break
        seed = rng.integers(0, 2, size=n + verify_bits - 1, dtype=np.int8)
        verify_disclosed += verify_bits
        replies += 1  # Bob's accept / reject of the hash
        if np.array_equal(
            toeplitz_hash(a, verify_bits, seed), toeplitz_hash(bob, verify_bits, seed)
        ):
            status = "verified"
            break
    parity_bits = channel.disclosed_bits
    return ReconciliationResult(
        bits_b=bob,
        status=status,
        iterations=len(passes),
        objective=flips,
        disclosed_bits=parity_bits + verify_disclosed,
        parity_bits=parity_bits,
        verify_bits=verify_disclosed,
        block_size=k1,
        transcript=tuple(channel.transcript),
        reply_bits=replies,
        error_pattern_public=True,
    )


def cascade_scheme(
    problem: ReconciliationProblem,
    rng: np.random.Generator,
    n_passes: int = 4,
    verify_bits: int = 32,
    max_extra_passes: int = 4,
) -> ReconciliationResult:
    """Cascade behind the shared interface (:mod:`plkg.keygen.reconciliation_interface`).

    Uses the hard bits and ``problem.qber`` only; Bob's soft information is not used.
    """
    return cascade_reconcile(
        problem.bits_a,
        problem.bits_b,
        problem.qber,
        rng,
        n_passes=n_passes,
        verify_bits=verify_bits,
        max_extra_passes=max_extra_passes,
    )


def disclosed_rank(transcript, n: int) -> int:
    """GF(2) rank of the disclosed parity checks: the information they actually reveal (bits).

    ``rank <= len(transcript)``; the pipeline subtracts the count (conservative).
    """
    pivots: dict[int, int] = {}
    for idx in transcript:
        row = 0
        for i in np.asarray(idx).tolist():
            row ^= 1 << i
        while row:
            top = row.bit_length() - 1
            if top in pivots:
                row ^= pivots[top]
            else:
                pivots[top] = row
                break
    return len(pivots)
