"""What one key block gives (:class:`KeyPairResult`) and the totals over blocks (:func:`aggregate`).

A block's final key length is ell = floor(min(n, H) - leak - margin) bits, with leak the
disclosed bits, Bob's answers and the announced length, and margin = 2 log2(1/eps_sec)
(:mod:`plkg.keygen.pipeline`); the bit disagreement ratio (BDR) before and after reconciliation
follows the RIS paper's Fig. 7 definition. Totals weight each block's BDR by its bits and report
the final key bits per probing round.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from plkg.keygen.reconciliation_interface import ReconciliationResult


@dataclass(frozen=True)
class KeyPairResult:
    """Both ends' keys from one block of probing rounds and the statistics of every stage.

    Attributes
    ----------
    key_a, key_b : ndarray [ell], int8
        Final keys (equal when ``keys_agree``).
    n_rounds : int
        Probing rounds of the block (training rounds included: they cost probing time).
    raw_bits : int
        Quantised bits kept after the guard band (per end).
    sample_bits : int
        Bits disclosed and discarded for the QBER estimate (Cascade).
    bdr_before : float
        BDR of the raw quantised bits (RIS paper Fig. 7 definition).
    bdr_after : float
        BDR after reconciliation (0 when reconciliation succeeded).
    qber_estimate : float
    disclosed_bits : int
        Parities or syndrome bits + plane and verification hash bits (Alice's messages).
    entropy_bits : float
        H of Alice's reconciled bits.
    final_key_bits : int
        ell = floor(min(n, H) - leak - margin) (0 if reconciliation failed: the block is
        discarded).
    keys_agree : bool
        Both final keys are non-empty and identical.
    key_agreement_ratio : float
        Fraction of equal bits of the two final keys; NaN when there is no key (not applicable).
    reconciliation : ReconciliationResult
    bits_per_component : ndarray [C], int64
        Bits per real sample of every real component (0: not quantised).
    training_rounds : int
        Rounds published to estimate the basis and correlations (no key bits from them).
    reply_bits : int
        Bob's public answers (one bit per decoding attempt and per verification).
    length_bits : int
        ceil(log2(n + 1)) for announcing ell (0 when no length is announced).
    leak_bits : int
        disclosed_bits + reply_bits + length_bits: what privacy amplification subtracts.
    margin_bits : float
        2 log2(1/eps_sec) (or the explicit margin) subtracted as well.
    basis_source : str
        Where the components' correlations came from: ``"public"`` (given by the caller),
        ``"training"`` or ``"block"`` (``KeyGenConfig.basis_from``).
    """

    key_a: np.ndarray
    key_b: np.ndarray
    n_rounds: int
    raw_bits: int
    sample_bits: int
    bdr_before: float
    bdr_after: float
    qber_estimate: float
    disclosed_bits: int
    entropy_bits: float
    final_key_bits: int
    keys_agree: bool
    key_agreement_ratio: float
    reconciliation: ReconciliationResult
    bits_per_component: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    training_rounds: int = 0
    reply_bits: int = 0
    length_bits: int = 0
    leak_bits: int = 0
    margin_bits: float = 0.0
    basis_source: str = "public"

    @property
    def final_bits_per_round(self) -> float:
        return self.final_key_bits / self.n_rounds

    @property
    def residual_mismatch_bits(self) -> int:
        """Differing bits of the two final keys (0 when they agree)."""
        if self.key_a.size != self.key_b.size:
            return int(max(self.key_a.size, self.key_b.size))
        return int(np.count_nonzero(self.key_a != self.key_b))

    @property
    def status(self) -> str:
        """``"ok"`` (identical non-empty keys), ``"no-key"``, ``"failed"`` or ``"mismatch"``."""
        if self.raw_bits == 0:
            return "no-key"
        if not self.reconciliation.success:
            return "failed"
        if self.final_key_bits == 0:
            return "no-key"
        return "ok" if self.keys_agree else "mismatch"

    def summary(self) -> dict:
        """JSON-serialisable statistics (no key material)."""
        b = self.bits_per_component
        return {
            "status": self.status,
            "n_rounds": self.n_rounds,
            "raw_bits": self.raw_bits,
            "sample_bits": self.sample_bits,
            "bdr_before": self.bdr_before,
            "bdr_after": self.bdr_after,
            "qber_estimate": self.qber_estimate,
            "disclosed_bits": self.disclosed_bits,
            "reply_bits": self.reply_bits,
            "length_bits": self.length_bits,
            "leak_bits": self.leak_bits,
            "margin_bits": self.margin_bits,
            "training_rounds": self.training_rounds,
            "basis_source": self.basis_source,
            "entropy_bits": self.entropy_bits,
            "final_key_bits": self.final_key_bits,
            "final_bits_per_round": self.final_bits_per_round,
            "keys_agree": self.keys_agree,
            "key_agreement_ratio": self.key_agreement_ratio,
            "residual_mismatch_bits": self.residual_mismatch_bits,
            "reconciliation": self.reconciliation.scheme,
            "reconciliation_status": self.reconciliation.status,
            "reconciliation_iterations": self.reconciliation.iterations,
            "bits_per_component": [int(v) for v in b],
        }


def aggregate(results: list[KeyPairResult]) -> dict:
    """Totals over several blocks: bits, BDRs weighted by bits, failure rate, bits per round.

    ``leak_bits`` (= ``disclosed_bits`` + ``reply_bits`` + ``length_bits``) and ``margin_bits``
    (summed over the blocks that announced a length) are what privacy amplification subtracted.

    ``key_agreement_ratio`` is the fraction of blocks with a non-empty key whose two final keys
    are identical (NaN when no block gave a key: not applicable, never "1.0"); ``key_bit_agreement``
    the fraction of equal final-key bits (NaN without key bits); ``residual_mismatch_bits`` the
    differing final-key bits; ``reconciliation_failure_rate`` the fraction of blocks whose
    verification failed (those blocks give no key).
    """
    if not results:
        raise ValueError("no key blocks to aggregate")
    raw = sum(r.raw_bits for r in results)
    rounds = sum(r.n_rounds for r in results)
    final = sum(r.final_key_bits for r in results)
    rec_bits = [r.raw_bits - r.sample_bits for r in results]
    keyed = [r for r in results if r.final_key_bits > 0]
    bits = np.concatenate([r.bits_per_component for r in results])
    nan = float("nan")
    status = _aggregate_status(results)
    extra = {}
    if status == "no-key":
        extra["note"] = (
            "no component worth quantising (correlation too low)"
            if raw == 0
            else "entropy does not cover the leak + security margin"
        )
    return {
        "status": status,
        **extra,
        "blocks": len(results),
        "n_rounds": rounds,
        "raw_bits": raw,
        "bdr_before": sum(r.bdr_before * r.raw_bits for r in results if r.raw_bits) / raw
        if raw
        else nan,
        "bdr_after": sum(r.bdr_after * n for r, n in zip(results, rec_bits, strict=True) if n)
        / max(1, sum(rec_bits))
        if raw
        else nan,
        "disclosed_bits": sum(r.disclosed_bits for r in results),
        "reply_bits": sum(r.reply_bits for r in results),
        "length_bits": sum(r.length_bits for r in results),
        "leak_bits": sum(r.leak_bits for r in results),
        "margin_bits": sum(r.margin_bits for r in results if r.length_bits),
        "training_rounds": sum(r.training_rounds for r in results),
        "basis_source": results[0].basis_source,
        "sample_bits": sum(r.sample_bits for r in results),
        "entropy_bits": sum(r.entropy_bits for r in results),
        "final_key_bits": final,
        "final_bits_per_round": final / rounds,
        "key_agreement_ratio": float(np.mean([r.keys_agree for r in keyed])) if keyed else nan,
        "key_bit_agreement": (
            sum(r.key_agreement_ratio * r.final_key_bits for r in keyed) / final if final else nan
        ),
        "residual_mismatch_bits": sum(r.residual_mismatch_bits for r in results),
        "reconciliation": results[0].reconciliation.scheme,
        "reconciliation_failure_rate": float(
            np.mean([not r.reconciliation.success for r in results])
        ),
        "mean_bits_per_component": float(bits.mean()) if bits.size else 0.0,
        "max_bits_per_component": int(bits.max()) if bits.size else 0,
    }


def _aggregate_status(results) -> str:
    states = {r.status for r in results}
    if "mismatch" in states:
        return "mismatch"
    if "ok" in states:
        return "ok"
    return "failed" if "failed" in states else "no-key"
