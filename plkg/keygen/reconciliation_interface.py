"""The interface every reconciliation scheme shares: one problem in, one result out.

A scheme is a function ``scheme(problem, rng, **options) -> ReconciliationResult``:
:func:`plkg.keygen.reconciliation.cascade_scheme` (interactive parities, hard bits only) and
:func:`plkg.keygen.ldpc_reconciliation.ldpc_scheme` (one-way syndromes, Bob's soft information).
Every bit a scheme discloses is a parity of a subset of Alice's bits; the result lists those
subsets (``transcript``) and counts them (``disclosed_bits``) so that privacy amplification
subtracts at least the information revealed (GF(2) rank <= count). Bob's answers are public too
and depend on his string (hence on Alice's): one bit per decoding attempt (accept / more
syndrome) and per verification (accept / reject), counted in ``reply_bits``; ``leak_bits`` is
the sum of both. Cascade's parity answers reveal the error pattern itself
(``error_pattern_public``): the entropy estimate is then conditioned on it instead.

Bit layout of the problem (both ends): component i contributes ``n_samples[i]`` samples of
``bits[i]`` Gray bits each (most significant first), stored from ``offsets[i]`` sample-major:
bit l of sample j of component i is at ``offsets[i] + j * bits[i] + l``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ReconciliationProblem:
    """Both ends' quantised bits and what Bob knows about them.

    Attributes
    ----------
    bits_a, bits_b : ndarray [N], int8
        Alice's (reference) and Bob's hard-decision bits, layout above.
    offsets, n_samples, bits : ndarray [C], int64
        Layout of the C components.
    rho : ndarray [C], float64
        Public correlation of each component's real feature pair (Gaussian model).
    scores_b : tuple of C ndarray
        Bob's normal scores per component (:func:`plkg.keygen.gaussian_model.normal_scores`).
    qber : float
        Estimated bit disagreement ratio (Cascade's block size).
    n_rounds : int or None
        Rounds the normal scores were ranked over (rank-noise term of the soft information).
    """

    bits_a: np.ndarray
    bits_b: np.ndarray
    offsets: np.ndarray
    n_samples: np.ndarray
    bits: np.ndarray
    rho: np.ndarray
    scores_b: tuple
    qber: float
    n_rounds: int | None = None

    def plane_indices(self, component: int, plane: int) -> np.ndarray:
        """Positions of plane ``plane`` of every sample of ``component`` in the bit strings."""
        b = int(self.bits[component])
        return int(self.offsets[component]) + np.arange(int(self.n_samples[component])) * b + plane


@dataclass(frozen=True)
class ReconciliationResult:
    """Outcome of a reconciliation scheme.

    Attributes
    ----------
    bits_b : ndarray, shape [n], int8
        Bob's corrected string.
    status : str
        ``"verified"`` (hashes agree) or ``"failed"`` (discard the block).
    iterations : int
        Cascade passes, or LDPC decoding attempts.
    objective : int
        Number of bits Bob flipped.
    disclosed_bits : int
        Every bit disclosed: parities / syndrome bits plus verification hash bits.
    parity_bits : int
        Parities (Cascade) or syndrome bits (LDPC) alone.
    verify_bits : int
        Verification hash bits disclosed.
    block_size : int
        Cascade's first-pass block size, or the longest LDPC frame.
    transcript : tuple of ndarray
        Index sets of the disclosed parities (replay and leakage analysis).
    scheme : str
        ``"cascade"`` or ``"ldpc"``.
    reply_bits : int
        Bob's one-bit public answers counted in the leak (accept/reject of every decoding
        attempt and verification).
    error_pattern_public : bool
        The discussion reveals the error pattern a XOR b (Cascade's binary searches); the
        entropy of Alice's string must then be estimated given it.
    """

    bits_b: np.ndarray
    status: str
    iterations: int
    objective: int
    disclosed_bits: int
    parity_bits: int
    verify_bits: int
    block_size: int
    transcript: tuple
    scheme: str = "cascade"
    reply_bits: int = 0
    error_pattern_public: bool = False

    @property
    def leak_bits(self) -> int:
        """Everything the public discussion of this scheme reveals, bits: Alice's + Bob's."""
        return int(self.disclosed_bits + self.reply_bits)

    @property
    def success(self) -> bool:
        return self.status == "verified"
