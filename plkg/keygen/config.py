"""Parameters of the key pipeline (:mod:`plkg.keygen.pipeline`) and the security they set.

:class:`KeyGenConfig` holds every choice of the pipeline (quantiser, bits per sample,
reconciliation, guard band, decorrelation, where the public basis comes from) and refuses an
inconsistent one when it is built. Its security parameters follow the leftover hash lemma and
the verification hash (:mod:`plkg.keygen.privacy_amplification`): a privacy-amplification
margin of 2 log2(1/eps_sec) bits and a hash of ceil(log2(v / eps_cor)) bits for at most v
verifications per block (v = 1 for LDPC, 1 + ``max_extra_passes`` for Cascade).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from plkg.keygen.adaptive_bits import DEFAULT_DESIGN_EFFICIENCY, DEFAULT_MAX_BITS_PER_SAMPLE
from plkg.keygen.decorrelation import DECORRELATIONS
from plkg.keygen.ldpc_reconciliation import DEFAULT_INITIAL_EFFICIENCY
from plkg.keygen.privacy_amplification import (
    DEFAULT_EPS_COR,
    DEFAULT_EPS_SEC,
    check_epsilon,
    implied_eps_sec,
    pa_margin_bits,
    verification_hash_bits,
)
from plkg.keygen.quantization import QUANTIZERS

RECONCILIATIONS = ("ldpc", "cascade")
ENTROPY_METHODS = ("exchangeable", "mcv", "ideal")
#: Where the public decorrelation basis and correlations come from (see :mod:`plkg.keygen.pipeline`).
BASIS_SOURCES = ("training", "block")
DEFAULT_TRAINING_FRACTION = 0.1
#: Fewest training rounds, and fewest key rounds left after them, in one block.
MIN_TRAINING_ROUNDS = 4
MIN_KEY_ROUNDS = 4


@dataclass(frozen=True)
class KeyGenConfig:
    """Parameters of the key pipeline (defaults recorded in ``docs/assumptions.md``).

    Attributes
    ----------
    quantizer : str
        ``"equiprobable"`` (per-dimension, Gray-coded) or ``"mean-threshold"`` (1 bit).
    bits_per_sample : int or None
        b, bits per real measurement; ``None`` (default) chooses b per component from its
        correlation (:func:`plkg.keygen.adaptive_bits.choose_bits_per_component`).
    max_bits_per_sample : int
        Cap of the per-component choice (1..16).
    design_efficiency : float
        Expected reconciliation efficiency f of the per-component rule (>= 1).
    reconciliation : str
        ``"ldpc"`` (default) or ``"cascade"``.
    guard : float
        Guard band: CDF mass around each threshold (equiprobable; with adaptive b the choice is
        capped so that the 2^b - 1 bands drop at most a quarter of the samples) or alpha in standard deviations
        (mean-threshold); 0 disables it.
    qber : float or None
        Cascade: known QBER for the block size; ``None`` estimates it from a disclosed sample.
    qber_sample_fraction : float
        Cascade: fraction of kept samples disclosed (and discarded) for the QBER estimate.
    n_passes, max_extra_passes : int
        Cascade parameters (:func:`plkg.keygen.reconciliation.cascade_reconcile`).
    eps_sec : float or None
        Secrecy parameter of a key block in (0, 1): the privacy-amplification margin is
        2 log2(1/eps_sec) bits (leftover hash lemma). ``None``: 1e-10, or the value implied by an
        explicit ``security_margin_bits`` (giving both is refused).
    eps_cor : float
        Correctness parameter of a key block in (0, 1): the verification hash has
        ceil(log2(v / eps_cor)) bits for v verifications per block (:attr:`verify_bits`).
    ldpc_efficiency : float
        First syndrome length over the expected conditional entropy (LDPC).
    security_margin_bits : float or None
        Explicit privacy-amplification margin (bits) instead of 2 log2(1/eps_sec); the implied
        eps_sec = 2^(-margin/2) is reported.
    entropy_method : str
        ``"exchangeable"`` (default, exact for the empirical-CDF quantiser), ``"mcv"``
        (SP 800-90B most-common-value per symbol) or ``"ideal"``; see :mod:`plkg.keygen.entropy`.
    dependence_lags : int or None
        L of the dependence penalty subtracted from the entropy estimate
        (:func:`plkg.keygen.entropy.dependence_penalty_bits` on Alice's normal scores of the
        quantised components: correlation between components and with the L previous rounds);
        default 1, ``None`` disables it (over-counts on correlated input; comparisons only).
    decorrelation : str
        ``"klt"`` (default): project both ends on the eigenvectors of Alice's sample covariance;
        ``"cca"``: on the canonical pairs of the two ends (most correlated first); ``"none"``.
        See :mod:`plkg.keygen.decorrelation`. Without it, correlated dimensions (a rank-one RIS
        precoder makes all M_e measurements of a cell collinear) give redundant bits that fail
        NIST tests and inflate the entropy estimate. Skipped when the caller passes the public
        correlations of independent components.
    decorrelate_rtol : float
        Components with variance (KLT) or whitening eigenvalue (CCA) below this fraction of the
        largest are dropped.
    max_components : int or None
        Keep at most this many components (complex dimensions) after decorrelation.
    basis_from : str
        ``"training"`` (default): decorrelation basis, correlations and phases are estimated
        from the first ``ceil(training_fraction * n)`` rounds of each block (at least 4), which
        are published and give no key bits; ``"block"``: from the key rounds themselves (their
        leak is not counted; comparisons only). Unused when the caller gives public correlations.
    training_fraction : float
        Share of each block's rounds used for training, in (0, 1).
    """

    quantizer: str = "equiprobable"
    bits_per_sample: int | None = None
    max_bits_per_sample: int = DEFAULT_MAX_BITS_PER_SAMPLE
    design_efficiency: float = DEFAULT_DESIGN_EFFICIENCY
    reconciliation: str = "ldpc"
    guard: float = 0.0
    qber: float | None = None
    qber_sample_fraction: float = 0.1
    n_passes: int = 4
    max_extra_passes: int = 4
    eps_sec: float | None = None
    eps_cor: float = DEFAULT_EPS_COR
    ldpc_efficiency: float = DEFAULT_INITIAL_EFFICIENCY
    security_margin_bits: float | None = None
    entropy_method: str = "exchangeable"
    dependence_lags: int | None = 1
    decorrelation: str = "klt"
    decorrelate_rtol: float = 1e-6
    max_components: int | None = None
    basis_from: str = "training"
    training_fraction: float = DEFAULT_TRAINING_FRACTION

    def __post_init__(self):
        if self.quantizer not in QUANTIZERS:
            raise ValueError(
                f"unknown quantizer {self.quantizer!r}; available: {', '.join(QUANTIZERS)}"
            )
        b = self.bits_per_sample
        if b is not None and (int(b) != b or not 1 <= b <= 16):
            raise ValueError(f"bits_per_sample must be an integer in 1..16 or None, got {b!r}")
        m = self.max_bits_per_sample
        if int(m) != m or not 1 <= m <= 16:
            raise ValueError(f"max_bits_per_sample must be an integer in 1..16, got {m!r}")
        if self.quantizer == "mean-threshold" and b not in (None, 1):
            raise ValueError("the mean-threshold quantizer produces 1 bit per sample")
        if self.reconciliation not in RECONCILIATIONS:
            raise ValueError(
                f"reconciliation must be one of {RECONCILIATIONS}, got {self.reconciliation!r}"
            )
        for name in ("design_efficiency", "ldpc_efficiency"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v >= 1):
                raise ValueError(f"{name} must be a number >= 1, got {v!r}")
        if not (math.isfinite(self.guard) and self.guard >= 0):
            raise ValueError(f"guard must be a finite number >= 0, got {self.guard!r}")
        if self.quantizer == "equiprobable" and self.guard >= 0.5:
            raise ValueError(f"guard must be < 0.5 (CDF mass), got {self.guard!r}")
        if self.qber is not None and not (0 <= self.qber < 0.5):
            raise ValueError(f"qber must lie in [0, 0.5), got {self.qber!r}")
        if not 0 < self.qber_sample_fraction < 1:
            raise ValueError(
                f"qber_sample_fraction must lie in (0, 1), got {self.qber_sample_fraction!r}"
            )
        self._check_security()
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
        lags = self.dependence_lags
        if lags is not None and (int(lags) != lags or lags < 0):
            raise ValueError(f"dependence_lags must be an integer >= 0 or None, got {lags!r}")
        if self.entropy_method not in ENTROPY_METHODS:
            raise ValueError(
                f"entropy_method must be one of {ENTROPY_METHODS}, got {self.entropy_method!r}"
            )
        if self.guard > 0 and self.entropy_method != "exchangeable":
            raise ValueError(
                f"guard > 0 needs entropy_method 'exchangeable' (the only estimate that accounts "
                f"for the announced guard-band indices), got {self.entropy_method!r}"
            )
        if self.basis_from not in BASIS_SOURCES:
            raise ValueError(f"basis_from must be one of {BASIS_SOURCES}, got {self.basis_from!r}")
        f = self.training_fraction
        if isinstance(f, bool) or not (isinstance(f, (int, float)) and 0 < f < 1):
            raise ValueError(f"training_fraction must be a number in (0, 1), got {f!r}")

    def _check_security(self) -> None:
        if self.eps_sec is not None:
            check_epsilon(self.eps_sec, "eps_sec")
        check_epsilon(self.eps_cor, "eps_cor")
        m = self.security_margin_bits
        if m is not None:
            if isinstance(m, bool) or not (
                isinstance(m, (int, float)) and math.isfinite(m) and m >= 0
            ):
                raise ValueError(f"security_margin_bits must be a finite number >= 0, got {m!r}")
            if self.eps_sec is not None:
                raise ValueError(
                    "give eps_sec or security_margin_bits, not both (the margin is "
                    "2 log2(1/eps_sec))"
                )

    @property
    def margin_bits(self) -> float:
        """Privacy-amplification margin: 2 log2(1/eps_sec), or the explicit override."""
        if self.security_margin_bits is not None:
            return float(self.security_margin_bits)
        return pa_margin_bits(self.secrecy_epsilon)

    @property
    def secrecy_epsilon(self) -> float:
        """eps_sec in force: given, implied by an explicit margin, or the default 1e-10."""
        if self.eps_sec is not None:
            return float(self.eps_sec)
        if self.security_margin_bits is not None:
            return implied_eps_sec(self.security_margin_bits)
        return DEFAULT_EPS_SEC

    @property
    def verifications(self) -> int:
        """Most verification hashes compared per block (Cascade: one per extra pass more)."""
        return 1 + int(self.max_extra_passes) if self.reconciliation == "cascade" else 1

    @property
    def verify_bits(self) -> int:
        """Verification hash length: ceil(log2(verifications / eps_cor)) (34 bits at 1e-10)."""
        return verification_hash_bits(self.eps_cor, self.verifications)

    def security(self) -> dict:
        """The security parameters in force (JSON-serialisable)."""
        return {
            "eps_sec": self.secrecy_epsilon,
            "eps_sec_source": (
                "eps_sec"
                if self.eps_sec is not None
                else "security_margin_bits"
                if self.security_margin_bits is not None
                else "default"
            ),
            "eps_cor": float(self.eps_cor),
            "margin_bits": self.margin_bits,
            "hash_bits": self.verify_bits,
            "verifications_per_block": self.verifications,
            "basis_from": self.basis_from,
            "training_fraction": float(self.training_fraction),
        }

    def to_dict(self) -> dict:
        return asdict(self)
