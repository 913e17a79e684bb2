"""Key generation pipeline: measurements -> quantise -> reconcile -> privacy-amplify.

System-agnostic: it takes both ends' measurements of the same probing rounds as a pair of arrays
[n_rounds, ...] (near-field Eqs. (8)/(11) of the near-field paper, RIS Eqs. (2)-(6) of the RIS
paper) and returns both ends' final keys with the statistics of every stage. Adaptors for the two
systems live in :mod:`plkg.keygen.nearfield_keys` and :mod:`plkg.keygen.ris_keys`.

Stages and the public messages they cost:

1. Quantisation (:mod:`plkg.keygen.quantization`) at each end; with a guard band the indices of
   the dropped samples are exchanged and both ends keep the intersection (indices only).
2. QBER estimate: a random ``qber_sample_fraction`` of the kept samples is disclosed, compared
   and discarded (unless ``qber`` is given).
3. Cascade (:mod:`plkg.keygen.reconciliation`); every disclosed parity and hash bit is counted.
4. Entropy estimate H of Alice's remaining bits (:mod:`plkg.keygen.entropy`) and Toeplitz
   privacy amplification to floor(H - disclosed - margin) bits
   (:mod:`plkg.keygen.privacy_amplification`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from plkg.keygen.decorrelation import DECORRELATIONS, decorrelate
from plkg.keygen.entropy import estimate_entropy_bits
from plkg.keygen.privacy_amplification import DEFAULT_SECURITY_MARGIN_BITS, privacy_amplify
from plkg.keygen.quantization import QUANTIZERS, bit_disagreement_ratio, quantize, real_features
from plkg.keygen.reconciliation import ReconciliationResult, cascade_reconcile


@dataclass(frozen=True)
class KeyGenConfig:
    """Parameters of the key pipeline (defaults recorded in ``docs/assumptions.md``).

    Attributes
    ----------
    quantizer : str
        ``"equiprobable"`` (per-dimension, Gray-coded) or ``"mean-threshold"`` (1 bit).
    bits_per_sample : int
        b, bits per real measurement (equiprobable quantiser).
    guard : float
        Guard band: CDF mass around each threshold (equiprobable) or alpha in standard deviations
        (mean-threshold); 0 disables it.
    qber : float or None
        Known QBER for Cascade's block size; ``None`` estimates it from a disclosed sample.
    qber_sample_fraction : float
        Fraction of kept samples disclosed (and discarded) for the QBER estimate.
    n_passes, max_extra_passes, verify_bits : int
        Cascade parameters (:func:`plkg.keygen.reconciliation.cascade_reconcile`).
    security_margin_bits : float
        Privacy-amplification margin (bits).
    entropy_method : str
        ``"mcv"`` (SP 800-90B most-common-value min-entropy per symbol) or ``"ideal"``.
    decorrelation : str
        ``"klt"`` (default): project both ends on the eigenvectors of Alice's sample covariance;
        ``"cca"``: on the canonical pairs of the two ends (most correlated first); ``"none"``.
        See :mod:`plkg.keygen.decorrelation`. Without it, correlated dimensions (a rank-one RIS
        precoder makes all M_e measurements of a cell collinear) give redundant bits that fail
        NIST tests and inflate the entropy estimate.
    decorrelate_rtol : float
        Components with variance (KLT) or whitening eigenvalue (CCA) below this fraction of the
        largest are dropped.
    max_components : int or None
        Keep at most this many components (complex dimensions) after decorrelation.
    """

    quantizer: str = "equiprobable"
    bits_per_sample: int = 1
    guard: float = 0.0
    qber: float | None = None
    qber_sample_fraction: float = 0.1
    n_passes: int = 4
    max_extra_passes: int = 4
    verify_bits: int = 32
    security_margin_bits: float = DEFAULT_SECURITY_MARGIN_BITS
    entropy_method: str = "mcv"
    decorrelation: str = "klt"
    decorrelate_rtol: float = 1e-6
    max_components: int | None = None

    def __post_init__(self):
        if self.quantizer not in QUANTIZERS:
            raise ValueError(
                f"unknown quantizer {self.quantizer!r}; available: {', '.join(QUANTIZERS)}"
            )
        if int(self.bits_per_sample) != self.bits_per_sample or not 1 <= self.bits_per_sample <= 8:
            raise ValueError(
                f"bits_per_sample must be an integer in 1..8, got {self.bits_per_sample!r}"
            )
        if self.quantizer == "mean-threshold" and self.bits_per_sample != 1:
            raise ValueError("the mean-threshold quantizer produces 1 bit per sample")
        if not (math.isfinite(self.guard) and self.guard >= 0):
            raise ValueError(f"guard must be a finite number >= 0, got {self.guard!r}")
        if self.qber is not None and not (0 <= self.qber < 0.5):
            raise ValueError(f"qber must lie in [0, 0.5), got {self.qber!r}")
        if not 0 < self.qber_sample_fraction < 1:
            raise ValueError(
                f"qber_sample_fraction must lie in (0, 1), got {self.qber_sample_fraction!r}"
            )
        if not (math.isfinite(self.security_margin_bits) and self.security_margin_bits >= 0):
            raise ValueError(
                f"security_margin_bits must be >= 0, got {self.security_margin_bits!r}"
            )
        if self.decorrelation not in DECORRELATIONS:
            raise ValueError(
                f"decorrelation must be one of {DECORRELATIONS}, got {self.decorrelation!r}"
            )
        if self.max_components is not None and (
            int(self.max_components) != self.max_components or self.max_components < 1
        ):
            raise ValueError(
                f"max_components must be a positive integer or None, got {self.max_components!r}"
            )
        if not 0 <= self.decorrelate_rtol < 1:
            raise ValueError(f"decorrelate_rtol must lie in [0, 1), got {self.decorrelate_rtol!r}")
        if self.entropy_method not in ("mcv", "ideal"):
            raise ValueError(
                f"entropy_method must be 'mcv' or 'ideal', got {self.entropy_method!r}"
            )

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class KeyPairResult:
    """Both ends' keys from one block of probing rounds and the statistics of every stage.

    Attributes
    ----------
    key_a, key_b : ndarray [ell], int8
        Final keys (equal when ``keys_agree``).
    n_rounds : int
        Probing rounds used.
    raw_bits : int
        Quantised bits kept after the guard band (per end).
    sample_bits : int
        Bits disclosed and discarded for the QBER estimate.
    bdr_before : float
        BDR of the raw quantised bits (RIS paper Fig. 7 definition).
    bdr_after : float
        BDR after reconciliation (0 when Cascade succeeded).
    qber_estimate : float
    disclosed_bits : int
        Parities + verification hash bits of Cascade.
    entropy_bits : float
        H of Alice's reconciled bits.
    final_key_bits : int
        ell = floor(H - disclosed - margin) (0 if reconciliation failed: the block is discarded).
    keys_agree : bool
    key_agreement_ratio : float
        Fraction of equal bits of the two final keys (1 when empty).
    reconciliation : ReconciliationResult
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

    @property
    def final_bits_per_round(self) -> float:
        return self.final_key_bits / self.n_rounds

    def summary(self) -> dict:
        """JSON-serialisable statistics (no key material)."""
        return {
            "n_rounds": self.n_rounds,
            "raw_bits": self.raw_bits,
            "sample_bits": self.sample_bits,
            "bdr_before": self.bdr_before,
            "bdr_after": self.bdr_after,
            "qber_estimate": self.qber_estimate,
            "disclosed_bits": self.disclosed_bits,
            "entropy_bits": self.entropy_bits,
            "final_key_bits": self.final_key_bits,
            "final_bits_per_round": self.final_bits_per_round,
            "keys_agree": self.keys_agree,
            "key_agreement_ratio": self.key_agreement_ratio,
            "reconciliation_status": self.reconciliation.status,
            "cascade_passes": self.reconciliation.iterations,
        }


def quantize_pair(z_a, z_b, config: KeyGenConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Quantise both ends and keep the samples outside both guard bands.

    Returns
    -------
    bits_a, bits_b : ndarray [n_kept, b], int8
        Bits of the kept samples (one row per sample).
    keep : ndarray [n_rounds, D], bool
    """
    za, zb = np.asarray(z_a), np.asarray(z_b)
    if za.shape != zb.shape:
        raise ValueError(f"the two ends' measurements differ in shape: {za.shape} vs {zb.shape}")
    za, zb = decorrelate(
        za, zb, config.decorrelation, config.decorrelate_rtol, config.max_components
    )
    xa, xb = real_features(za), real_features(zb)
    qa = quantize(xa, config.quantizer, config.bits_per_sample, config.guard)
    qb = quantize(xb, config.quantizer, config.bits_per_sample, config.guard)
    keep = qa.keep & qb.keep
    return qa.bits[keep], qb.bits[keep], keep


def generate_key_pair(
    z_a, z_b, rng: np.random.Generator, config: KeyGenConfig | None = None
) -> KeyPairResult:
    """Run the whole pipeline on one block of probing rounds.

    Parameters
    ----------
    z_a, z_b : array_like, shape [n_rounds, ...], complex or real
        Alice's and Bob's measurements of the same rounds (same shape).
    rng : numpy.random.Generator
        Public randomness: QBER sample, Cascade permutations, hash seeds.
    config : KeyGenConfig or None
    """
    config = config or KeyGenConfig()
    za = np.asarray(z_a)
    n_rounds = za.shape[0] if za.ndim else 0
    sym_a, sym_b, _ = quantize_pair(z_a, z_b, config)
    b = config.bits_per_sample
    n_sym = sym_a.shape[0]
    if n_sym < 4:
        raise ValueError(f"only {n_sym} samples survive the guard band; need at least 4")
    bdr_before = bit_disagreement_ratio(sym_a, sym_b)
    # QBER estimate on a disclosed, discarded sample of symbols
    if config.qber is None:
        n_sample = max(1, int(round(config.qber_sample_fraction * n_sym)))
        sample = rng.choice(n_sym, size=n_sample, replace=False)
        mask = np.ones(n_sym, dtype=bool)
        mask[sample] = False
        est = bit_disagreement_ratio(sym_a[sample], sym_b[sample])
        qber = float(min(max(est, 1.0 / (n_sample * b)), 0.49))
        sym_a, sym_b = sym_a[mask], sym_b[mask]
        sample_bits = n_sample * b
    else:
        qber, sample_bits = float(config.qber), 0
    bits_a, bits_b = sym_a.reshape(-1), sym_b.reshape(-1)
    rec = cascade_reconcile(
        bits_a,
        bits_b,
        qber,
        rng,
        n_passes=config.n_passes,
        verify_bits=config.verify_bits,
        max_extra_passes=config.max_extra_passes,
    )
    bdr_after = bit_disagreement_ratio(bits_a, rec.bits_b)
    entropy = estimate_entropy_bits(bits_a, b, config.entropy_method)
    if rec.success:
        pa_a = privacy_amplify(
            bits_a, entropy, rec.disclosed_bits, rng, config.security_margin_bits
        )
        pa_b = privacy_amplify(
            rec.bits_b,
            entropy,
            rec.disclosed_bits,
            security_margin_bits=config.security_margin_bits,
            seed_bits=pa_a.seed,
        )
        key_a, key_b = pa_a.key, pa_b.key
    else:  # detected failure: both ends discard the block
        key_a = key_b = np.zeros(0, dtype=np.int8)
    agree = bool(np.array_equal(key_a, key_b))
    ratio = 1.0 if key_a.size == 0 else float(np.mean(key_a == key_b))
    return KeyPairResult(
        key_a=key_a,
        key_b=key_b,
        n_rounds=int(n_rounds),
        raw_bits=int(n_sym * b),
        sample_bits=int(sample_bits),
        bdr_before=bdr_before,
        bdr_after=bdr_after,
        qber_estimate=qber,
        disclosed_bits=int(rec.disclosed_bits),
        entropy_bits=float(entropy),
        final_key_bits=int(key_a.size),
        keys_agree=agree,
        key_agreement_ratio=ratio,
        reconciliation=rec,
    )


def aggregate(results: list[KeyPairResult]) -> dict:
    """Totals over several blocks: bits, BDRs weighted by bits, failure rate, bits per round.

    ``key_agreement_ratio`` is the fraction of blocks whose final keys are identical at both ends;
    ``key_bit_agreement`` the fraction of equal final-key bits; ``reconciliation_failure_rate`` the
    fraction of blocks whose verification hash failed (those blocks give no key).
    """
    if not results:
        raise ValueError("no key blocks to aggregate")
    raw = sum(r.raw_bits for r in results)
    rounds = sum(r.n_rounds for r in results)
    final = sum(r.final_key_bits for r in results)
    rec_bits = [r.raw_bits - r.sample_bits for r in results]
    return {
        "blocks": len(results),
        "n_rounds": rounds,
        "raw_bits": raw,
        "bdr_before": sum(r.bdr_before * r.raw_bits for r in results) / raw,
        "bdr_after": sum(r.bdr_after * n for r, n in zip(results, rec_bits, strict=True))
        / max(1, sum(rec_bits)),
        "disclosed_bits": sum(r.disclosed_bits for r in results),
        "sample_bits": sum(r.sample_bits for r in results),
        "entropy_bits": sum(r.entropy_bits for r in results),
        "final_key_bits": final,
        "final_bits_per_round": final / rounds,
        # fraction of blocks whose two final keys are identical, and bitwise agreement of all keys
        "key_agreement_ratio": float(np.mean([r.keys_agree for r in results])),
        "key_bit_agreement": (
            sum(r.key_agreement_ratio * r.final_key_bits for r in results) / final if final else 1.0
        ),
        "reconciliation_failure_rate": float(
            np.mean([not r.reconciliation.success for r in results])
        ),
    }
