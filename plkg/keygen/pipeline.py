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
   rounds themselves (the previous behaviour; their leak is NOT counted, comparisons only).
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
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from plkg.keygen.adaptive_bits import (
    DEFAULT_DESIGN_EFFICIENCY,
    DEFAULT_MAX_BITS_PER_SAMPLE,
    choose_bits_per_component,
)
from plkg.keygen.decorrelation import DECORRELATIONS, cca_pair, decorrelate, fit_transforms
from plkg.keygen.entropy import component_entropy_bits, dependence_penalty_bits
from plkg.keygen.gaussian_model import normal_scores, plane_conditional_entropies
from plkg.keygen.ldpc_reconciliation import DEFAULT_INITIAL_EFFICIENCY, ldpc_scheme
from plkg.keygen.privacy_amplification import (
    DEFAULT_EPS_COR,
    DEFAULT_EPS_SEC,
    check_epsilon,
    implied_eps_sec,
    length_announcement_bits,
    pa_margin_bits,
    privacy_amplify,
    verification_hash_bits,
)
from plkg.keygen.quantization import (
    QUANTIZERS,
    bit_disagreement_ratio,
    equiprobable_levels,
    gray_code,
    quantize,
    real_features,
)
from plkg.keygen.reconciliation import cascade_scheme
from plkg.keygen.reconciliation_interface import ReconciliationProblem, ReconciliationResult

RECONCILIATIONS = ("ldpc", "cascade")
ENTROPY_METHODS = ("exchangeable", "mcv", "ideal")
#: Where the public decorrelation basis and correlations come from (see the module docstring).
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


def _component_correlation(ya: np.ndarray, yb: np.ndarray) -> np.ndarray:
    """Sample correlation E[a conj(b)] / sqrt(E|a|^2 E|b|^2) per column (centred), [D]."""
    a = ya - ya.mean(axis=0)
    b = yb - yb.mean(axis=0)
    num = np.sum(a * np.conj(b), axis=0)
    den = np.sqrt(np.sum(np.abs(a) ** 2, axis=0) * np.sum(np.abs(b) ** 2, axis=0))
    return np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)


def training_round_count(
    n_rounds: int,
    config: KeyGenConfig,
    correlation=None,
    n_components: int = 1,
    *,
    block_name: str = "block_rounds",
    fraction_name: str = "training_fraction",
) -> int:
    """Rounds of a block of ``n_rounds`` set aside to estimate the public statistics.

    0 with public correlations (nothing is estimated) or ``basis_from="block"``; otherwise
    max(4, ceil(training_fraction * n_rounds), n_components + 1) (a sample covariance of D
    components needs D + 1 rounds to be regular), and at least 4 rounds must remain for the key.
    The ValueError of a too short block names the bound that binds and the shortest block that
    works; ``block_name`` / ``fraction_name`` are how it names the two settings (e.g. the CLI's
    ``--block-rounds`` / ``--training-fraction``).
    """
    if correlation is not None or config.basis_from == "block":
        return 0
    n, d, f = int(n_rounds), int(n_components), float(config.training_fraction)

    def needed(m: int) -> int:
        return max(MIN_TRAINING_ROUNDS, math.ceil(f * m), d + 1)

    n_train = needed(n)
    if n - n_train >= MIN_KEY_ROUNDS:
        return n_train
    # shortest block that works: n - needed(n) >= MIN_KEY_ROUNDS (needs f * n <= n - 4)
    n_min = max(MIN_TRAINING_ROUNDS, d + 1) + MIN_KEY_ROUNDS
    n_min = max(n_min, math.ceil(MIN_KEY_ROUNDS / (1.0 - f)) - 1, n + 1)
    while n_min - needed(n_min) < MIN_KEY_ROUNDS:
        n_min += 1
    while n_min - 1 > n and n_min - 1 - needed(n_min - 1) >= MIN_KEY_ROUNDS:
        n_min -= 1
    binding = []  # the bounds that set n_train
    if math.ceil(f * n) == n_train:
        binding.append(f"{fraction_name} {f!r} of the block")
    if d + 1 == n_train:
        binding.append(f"n_components + 1 = {d + 1}: the sample covariance of {d} components")
    if n_train == MIN_TRAINING_ROUNDS:
        binding.append(f"the minimum of {MIN_TRAINING_ROUNDS}")
    smaller = ""
    if math.ceil(f * n) == n_train and n - max(MIN_TRAINING_ROUNDS, d + 1) >= MIN_KEY_ROUNDS:
        smaller = f" or a smaller {fraction_name}"
    raise ValueError(
        f"blocks of {n} rounds are too short: training takes {n_train} rounds "
        f"({'; '.join(binding)}) and at least {MIN_KEY_ROUNDS} must remain for the key: "
        f"use {block_name} >= {n_min}{smaller}"
    )


def aligned_real_pairs(z_a, z_b, config: KeyGenConfig, correlation=None):
    """Stage 1: independent components, their correlation, and Bob aligned to Alice.

    Parameters
    ----------
    z_a, z_b : array_like, shape [n_rounds, ...]
    config : KeyGenConfig
    correlation : array_like [D] or None
        Public correlation of the D = prod(...) components, which must then be independent
        (e.g. the subchannels of the near-field design); ``None`` decorrelates per ``config``
        and estimates it from second-order statistics: of the first
        :func:`training_round_count` rounds (``basis_from="training"``, those rounds are then
        dropped) or of the whole block (``"block"``).

    Returns
    -------
    (x_a, x_b, rho) : ndarray [n_key, R], ndarray [n_key, R], ndarray [R] in [0, 1]
        Real features of the key rounds (real parts then imaginary parts for complex input)
        with Bob's phase (sign) aligned, and the correlation of every real pair.
    """
    xa, xb, rho, _ = _aligned_pairs_and_training(z_a, z_b, config, correlation)
    return xa, xb, rho


def _aligned_pairs_and_training(z_a, z_b, config: KeyGenConfig, correlation=None):
    """:func:`aligned_real_pairs` and the training rounds it dropped (one count, never two)."""
    za, zb = np.asarray(z_a), np.asarray(z_b)
    if za.shape != zb.shape:
        raise ValueError(f"the two ends' measurements differ in shape: {za.shape} vs {zb.shape}")
    n_train = 0
    if correlation is not None:
        ya, yb = real_shape(za), real_shape(zb)
        rho_c = np.asarray(correlation).reshape(-1)
        if rho_c.size != ya.shape[1]:
            raise ValueError(
                f"correlation has {rho_c.size} entries for {ya.shape[1]} components per round"
            )
    elif config.basis_from == "training":
        ya, yb, rho_c, n_train = _trained_components(za, zb, config)
    elif config.decorrelation == "cca":
        ya, yb, rho_c = cca_pair(za, zb, config.decorrelate_rtol, config.max_components)
        rho_c = rho_c * np.exp(1j * np.angle(_component_correlation(ya, yb)))
    else:
        ya, yb = decorrelate(
            za, zb, config.decorrelation, config.decorrelate_rtol, config.max_components
        )
        ya, yb = real_shape(ya), real_shape(yb)
        rho_c = _component_correlation(ya, yb)
    return (*_align(ya, yb, rho_c), n_train)


def _trained_components(za, zb, config: KeyGenConfig):
    """Transforms, correlations and phases from the training rounds, applied to the key rounds;
    and the number of training rounds."""
    a, b = real_shape(za), real_shape(zb)
    n_train = training_round_count(a.shape[0], config, n_components=a.shape[1])
    ta, tb = a[:n_train], b[:n_train]
    fa, fb = fit_transforms(
        ta, tb, config.decorrelation, config.decorrelate_rtol, config.max_components
    )
    rho_c = _component_correlation(ta @ fa, tb @ fb)
    return a[n_train:] @ fa, b[n_train:] @ fb, rho_c, n_train


def _align(ya, yb, rho_c):
    """Rotate (complex) or flip (real) Bob's components so that E[a conj(b)] = |rho|."""
    if np.iscomplexobj(ya) or np.iscomplexobj(yb) or np.iscomplexobj(rho_c):
        yb = np.asarray(yb) * np.exp(1j * np.angle(rho_c))  # E[a conj(b)] becomes |rho|
        rho = np.concatenate([np.abs(rho_c), np.abs(rho_c)])
    else:
        yb = np.asarray(yb) * np.where(rho_c < 0, -1.0, 1.0)
        rho = np.abs(rho_c)
    xa, xb = real_features(ya), real_features(yb)
    return xa, xb, np.clip(rho.astype(np.float64), 0.0, 1.0 - 1e-15)


def real_shape(z) -> np.ndarray:
    """[n_rounds, ...] -> [n_rounds, D] (no copy for contiguous input)."""
    z = np.asarray(z)
    if z.ndim < 1 or z.shape[0] < 2:
        raise ValueError(f"measurements need shape [n_rounds >= 2, ...], got {z.shape}")
    return z.reshape(z.shape[0], -1)


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


def security_assumptions(config: KeyGenConfig, public_correlation: bool = False) -> list[str]:
    """The assumptions under which every key block is (eps_sec + eps_cor)-secure, as sentences.

    Parameters
    ----------
    config : KeyGenConfig
    public_correlation : bool
        The components' correlations are public design values (near-field subchannels, a
        ``correlation`` array in a measurement file): nothing is estimated from the rounds.
    """
    sec = config.security()
    items = [
        "Eve's channel observations are independent of both legitimate channels (she is more "
        "than half a wavelength from Alice and Bob, so her channels are uncorrelated with "
        "theirs): H_min(key | Eve) = H_min(key)",
        "probing rounds are independent and identically distributed (the exchangeable min-entropy "
        "estimate and the training split rest on this; the dependence penalty covers only "
        "linear dependence on the previous round)",
        "Eve is passive on an authenticated public channel and sees every public message",
        f"key length per block: ell = floor(min(n, H) - leak - {sec['margin_bits']:.2f}) with "
        f"{sec['margin_bits']:.2f} = 2 log2(1/eps_sec), eps_sec = {sec['eps_sec']:.3g} "
        "(leftover hash lemma, Toeplitz hashing)",
        f"verification hash of {sec['hash_bits']} bits (at most {sec['verifications_per_block']} "
        f"per block): the two keys of a block differ with probability <= eps_cor = "
        f"{sec['eps_cor']:.3g}",
        "leak = syndrome/parity bits + plane and verification hash bits + Bob's one-bit answer "
        "per decoding attempt and verification + ceil(log2(n + 1)) bits for announcing the "
        "length; guard-band indices are covered by the exchangeable estimate (given the "
        "announced mask); Cascade reveals the error pattern, and H is estimated given it",
        "each block is (eps_sec + eps_cor)-secure; a key file concatenating B blocks is "
        "B (eps_sec + eps_cor)-secure",
    ]
    if config.entropy_method != "exchangeable":
        items.append(
            f"NOT COVERED: entropy_method {config.entropy_method!r} is a comparison estimator; "
            "the eps statements assume the exchangeable min-entropy estimate"
        )
    if config.dependence_lags is None:
        items.append(
            "NOT COVERED: dependence_lags=None drops the dependence penalty (over-counts the "
            "entropy of correlated components; comparisons only)"
        )
    if public_correlation:
        items.append("component correlations are public design values: no basis is estimated")
    elif config.basis_from == "training":
        items.append(
            f"decorrelation basis, correlations and phases are estimated from the first "
            f"{sec['training_fraction']:g} of each block's rounds (at least {MIN_TRAINING_ROUNDS}), "
            "which are published and give no key bits"
        )
    else:
        items.append(
            "NOT COVERED: decorrelation basis and correlations are estimated from the key rounds "
            "themselves (basis_from='block') and their leak is not counted"
        )
    return items
