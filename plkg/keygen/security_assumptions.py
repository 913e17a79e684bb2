"""The assumptions under which every key block of the pipeline is (eps_sec + eps_cor)-secure.

Each block's key is eps_sec-secret by the leftover hash lemma (Toeplitz hashing to
ell = floor(min(n, H) - leak - 2 log2(1/eps_sec)) bits) and eps_cor-correct by the verification
hash; :func:`security_assumptions` states, as sentences, what that rests on for a given
:class:`~plkg.keygen.config.KeyGenConfig` and which settings it does not cover.
"""

from __future__ import annotations

from plkg.keygen.config import MIN_TRAINING_ROUNDS, KeyGenConfig


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
