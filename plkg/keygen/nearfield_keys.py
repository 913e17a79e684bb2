"""Near-field adaptor of the key pipeline: allocate power, probe, and generate per-UE keys.

For a scenario and an allocation method (Section VII-B of the near-field paper) this designs
the subchannels (Eqs. (16)-(20), (39)), allocates the BS power P_a, simulates ``n_rounds``
independent coherence times of the probing protocol (Eqs. (6)-(11)) and runs
:func:`plkg.keygen.pipeline.generate_key_pair` for every UE on its active subchannels (those with
x > 0; padded columns of the zero-padded precoders carry no signal). The subchannels are
independent by design (Eq. (39)), so the pipeline skips decorrelation and takes their public
correlation from Eq. (42) (:func:`subchannel_correlation`). The analytic KR of Eq. (17) per UE
is reported next to the measured final key bits per probing round, with their ratio
(``efficiency``).
"""

from __future__ import annotations

import warnings

import numpy as np

from plkg.keygen.pipeline import KeyGenConfig, aggregate, key_blocks


def allocate_with_fallback(method: str, design, pa_w: float):
    """Allocation of ``method``; falls back to EPA with a note if the method fails or is absent.

    Parameters
    ----------
    method : str
        A name of :data:`plkg.ALLOCATION_METHODS`.
    design : SubchannelDesign
        The subchannels to allocate power over.
    pa_w : float
        Power budget P_a in watts.

    Returns
    -------
    result : AllocationResult
        The allocation.
    used : str
        The method actually used (``"epa (fallback from X: reason)"`` on fallback).
    """
    from plkg.inference.methods import ALLOCATION_METHODS, allocate

    if method not in ALLOCATION_METHODS:
        raise ValueError(
            f"unknown allocation method {method!r}; choose from {', '.join(ALLOCATION_METHODS)}"
        )
    try:
        return allocate(method, design, pa_w), method
    except (ValueError, RuntimeError) as exc:
        if method == "epa":
            raise
        warnings.warn(f"allocation {method!r} failed ({exc}); using EPA instead", stacklevel=2)
        return allocate("epa", design, pa_w), f"epa (fallback from {method}: {exc})"


#: Default minimum per-subchannel key rate (Eq. (42) term, bits per round) for a subchannel to be
#: quantised: 2 bits = correlation 0.87 per real dimension, 1-bit BDR about 0.17.
DEFAULT_MIN_SUBCHANNEL_KR_BITS = 2.0


def active_subchannels(
    design, x_w, min_subchannel_kr_bits: float = DEFAULT_MIN_SUBCHANNEL_KR_BITS
) -> list[np.ndarray]:
    """Per UE, the indices j < D_k of the subchannels used for key bits.

    A subchannel is used when x > 0 and its key rate (the j-th term of Eq. (42)) is at least
    ``min_subchannel_kr_bits``: subchannels with a tiny eigenvalue carry almost uncorrelated
    measurements whose bits would only add disagreements. The selection uses public statistics
    only (CCMs, noise powers, allocation).
    """
    from plkg.keyrate.subchannel import subchannel_key_rate_bits

    if not (np.isfinite(min_subchannel_kr_bits) and min_subchannel_kr_bits >= 0):
        raise ValueError(f"min_subchannel_kr_bits must be >= 0, got {min_subchannel_kr_bits!r}")
    x = np.asarray(x_w, dtype=np.float64)
    rate = subchannel_key_rate_bits(x, design.m_a, design.m_b)
    use = (x > 0) & (rate >= min_subchannel_kr_bits)
    return [np.flatnonzero(u) for u in design.split(use)]


def subchannel_correlation(design, x_w) -> np.ndarray:
    r"""Public correlation :math:`|\rho|` of both ends' measurements of every subchannel.

    The j-th term of Eq. (42), :math:`\log_2(1 + \mathrm{snr})`, is the mutual information
    :math:`-\log_2(1 - |\rho|^2)` of the two complex measurements of that subchannel, so
    :math:`|\rho| = \sqrt{\mathrm{snr} / (1 + \mathrm{snr})}`.

    Parameters
    ----------
    design : SubchannelDesign
        The subchannels (constants m_a, m_b of Eq. (42)).
    x_w : array_like, shape [N_D], float64, watt
        Power allocation.

    Returns
    -------
    ndarray, shape [N_D], float64
        :math:`|\rho|` in [0, 1) per subchannel.
    """
    from plkg.keyrate.subchannel import subchannel_snr

    snr = np.asarray(subchannel_snr(np.asarray(x_w, dtype=np.float64), design.m_a, design.m_b))
    return np.sqrt(snr / (1.0 + snr))


def _efficiency(final_bits_per_round: float, analytic_kr_bits: float) -> float:
    """Final key bits per round over the analytic KR (NaN when the KR is 0)."""
    return final_bits_per_round / analytic_kr_bits if analytic_kr_bits > 0 else float("nan")


def nearfield_key_generation(
    scenario,
    pa_w: float,
    n_rounds: int,
    rng: np.random.Generator,
    method: str = "epa",
    config: KeyGenConfig | None = None,
    block_rounds: int | None = None,
    design=None,
    min_subchannel_kr_bits: float = DEFAULT_MIN_SUBCHANNEL_KR_BITS,
    progress=None,
) -> dict:
    """Generate keys between the BS and every UE of a near-field scenario.

    Parameters
    ----------
    scenario : NearFieldScenario
    pa_w : float
        BS power budget P_a in W (> 0).
    n_rounds : int
        Probing rounds (coherence times), >= 8.
    rng : numpy.random.Generator
        Drives the probing simulation and all public randomness of the pipeline.
    method : str
        Allocation method name of :mod:`plkg.inference.methods` (fallback to EPA on failure).
    config : KeyGenConfig or None
    block_rounds : int or None
        Rounds per key block (``None``: all rounds form one block per UE).
    design : SubchannelDesign or None
        Reuse a design (it only depends on the scenario).
    min_subchannel_kr_bits : float
        Subchannel selection threshold, see :func:`active_subchannels`.
    progress : callable or None
        ``progress("UE k")`` after every block of every UE (also for the blocks of a UE without
        key bits), e.g. a progress bar's tick; UEs are numbered from 1 in the label.

    Returns
    -------
    dict with ``method_used``, ``pa_w``, and per UE (list ``users``, in UE order): ``user``
    (the UE's 0-based index into the scenario's arrays), ``ue`` (its number as users see it,
    from 1), the aggregate of
    :func:`plkg.keygen.key_result.aggregate`, ``analytic_kr_bits`` (Eq. (17), bits per round),
    ``active_subchannels`` and the per-block results under ``"blocks"`` (objects).
    """
    from plkg.channels.nearfield_probing import simulate_probing
    from plkg.keyrate.evaluate import evaluate_allocation
    from plkg.precoding.design_cache import design_for_scenario

    if not (np.isfinite(pa_w) and pa_w > 0):
        raise ValueError(f"P_a must be positive and finite (W), got {pa_w!r}")
    if int(n_rounds) != n_rounds or n_rounds < 8:
        raise ValueError(f"n_rounds must be an integer >= 8, got {n_rounds!r}")
    from plkg.inference.methods import ALLOCATION_METHODS

    if method not in ALLOCATION_METHODS:
        raise ValueError(
            f"unknown allocation method {method!r}; choose from {', '.join(ALLOCATION_METHODS)}"
        )
    config = config or KeyGenConfig()
    design = design_for_scenario(scenario) if design is None else design
    alloc, used = allocate_with_fallback(method, design, pa_w)
    report = evaluate_allocation(design, alloc.x_w)
    samples = simulate_probing(
        design.ccm,
        design.padded_precoders(alloc.x_w),
        scenario.noise_bs_w,
        scenario.noise_ue_w,
        scenario.ue_power_w,
        design.downlink_pilot_len,
        design.uplink_pilot_len,
        int(n_rounds),
        rng,
    )
    block = int(n_rounds) if block_rounds is None else int(block_rounds)
    if block < 8:
        raise ValueError(f"block_rounds must be >= 8, got {block_rounds!r}")
    subchannel_correlations = design.split(subchannel_correlation(design, alloc.x_w))
    users = []
    for k, active in enumerate(active_subchannels(design, alloc.x_w, min_subchannel_kr_bits)):
        if active.size == 0:
            for _ in range(int(n_rounds) // block if progress is not None else 0):
                progress(f"UE {k + 1}")
            users.append(
                {
                    "user": k,
                    "ue": k + 1,
                    "analytic_kr_bits": float(report.kr_bits[k]),
                    "active_subchannels": 0,
                    "bdr_before": float("nan"),
                    "final_key_bits": 0,
                    "final_bits_per_round": 0.0,
                    "efficiency": 0.0,
                    "status": "no-key",
                    "key_agreement_ratio": float("nan"),
                    "note": "no subchannel above min_subchannel_kr_bits",
                }
            )
            continue
        za = samples.z_a[:, k, active]
        zb = samples.z_b[:, k, active]
        rho = subchannel_correlations[k][active]
        blocks = key_blocks(za, zb, rng, config, block, rho, progress, f"UE {k + 1}")
        entry = {"user": k, "ue": k + 1, **aggregate(blocks)}
        entry["analytic_kr_bits"] = float(report.kr_bits[k])
        entry["efficiency"] = _efficiency(entry["final_bits_per_round"], entry["analytic_kr_bits"])
        entry["active_subchannels"] = int(active.size)
        entry["blocks"] = blocks
        users.append(entry)
    return {
        "system": "nearfield",
        "method": method,
        "method_used": used,
        "pa_w": float(pa_w),
        "users": users,
    }
