"""Stage 1 of the key pipeline: independent components, their public correlation, Bob aligned.

Both ends' measurements [n_rounds, ...] (near-field Eqs. (8)/(11), RIS Eqs. (2)-(6), or the
user's own) are projected on independent components (:mod:`plkg.keygen.decorrelation`), and the
per-component correlation ``rho = E[a conj(b)] / sqrt(E|a|^2 E|b|^2)`` is estimated from
second-order statistics: of the first :func:`training_round_count` rounds of the block, which are
then published and dropped (``basis_from="training"``), or of the whole block (``"block"``).
Bob's phase (complex) or sign (real) is rotated so that ``E[a conj(b)] = |rho|``, and both ends are
split into real features (real parts, then imaginary parts).
"""

from __future__ import annotations

import math

import numpy as np

from plkg.keygen.config import MIN_KEY_ROUNDS, MIN_TRAINING_ROUNDS, KeyGenConfig
from plkg.keygen.decorrelation import cca_pair, decorrelate, fit_transforms
from plkg.keygen.quantization import real_features


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
