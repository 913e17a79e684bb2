"""Security parameters of a key block: margin and hash length from eps, the leak of every public
message (Bob's answers, the announced length), and the training split of the public basis."""

from __future__ import annotations

import math

import numpy as np
import pytest

from plkg.keygen import ldpc_reconciliation as lr
from plkg.keygen.entropy import component_entropy_bits, exchangeable_min_entropy_bits
from plkg.keygen.pipeline import (
    KeyGenConfig,
    aligned_real_pairs,
    generate_key_pair,
    security_assumptions,
    training_round_count,
)
from plkg.keygen.privacy_amplification import (
    DEFAULT_SECURITY_MARGIN_BITS,
    implied_eps_sec,
    length_announcement_bits,
    pa_margin_bits,
    verification_hash_bits,
)
from plkg.keygen.quantization import real_features

EPS_GRID = [0.999999, 0.5, 0.1, 2.0**-20, 1e-10, 1e-30, 1e-300, 5e-324]


# ----------------------------------------------------------------- margin and hash length of eps


def test_margin_is_twice_log2_inverse_eps_and_monotone():
    assert pa_margin_bits(2.0**-20) == 40.0  # the former fixed margin
    assert pa_margin_bits(1e-10) == pytest.approx(66.4386, abs=1e-4)
    assert DEFAULT_SECURITY_MARGIN_BITS == pa_margin_bits(1e-10)
    margins = [pa_margin_bits(e) for e in EPS_GRID]
    assert all(m > 0 and math.isfinite(m) for m in margins)
    assert all(a < b for a, b in zip(margins, margins[1:], strict=False))  # smaller eps, more bits
    assert margins[0] < 1e-5  # eps -> 1: no margin
    assert margins[-1] == pytest.approx(2 * 1074)  # the smallest double
    for m in (1.0, 40.0, 66.4, 500.0):  # an explicit margin implies eps_sec = 2^(-m/2)
        assert pa_margin_bits(implied_eps_sec(m)) == pytest.approx(m, abs=1e-9)
    assert implied_eps_sec(0.0) == 1.0  # no margin: no secrecy claim


def test_hash_bits_ceil_log2_inverse_eps_and_monotone():
    assert verification_hash_bits(1e-10) == 34
    assert verification_hash_bits(2.0**-32) == 32  # exact powers of two are not rounded up
    assert verification_hash_bits(0.5) == 1 and verification_hash_bits(0.999999) == 1
    assert verification_hash_bits(5e-324) == 1074  # 2^-1074, the smallest double
    assert verification_hash_bits(1e-10, verifications=5) == 36  # Cascade: union over 5 checks
    bits = [verification_hash_bits(e) for e in EPS_GRID]
    assert all(a <= b for a, b in zip(bits, bits[1:], strict=False))
    for e in EPS_GRID:  # a collision of one 2-universal hash: probability 2^-h <= eps
        assert 2.0 ** -verification_hash_bits(e) <= e


@pytest.mark.parametrize("bad", [0.0, 1.0, -1e-3, 2.0, math.nan, math.inf, "x", None, True])
def test_eps_outside_open_unit_interval_is_refused(bad):
    with pytest.raises(ValueError, match="eps_sec"):
        pa_margin_bits(bad)
    with pytest.raises(ValueError, match="eps_cor"):
        verification_hash_bits(bad)
    if bad is not None:  # eps_sec=None is the default (1e-10)
        with pytest.raises(ValueError, match="eps_sec"):
            KeyGenConfig(eps_sec=bad)
    with pytest.raises(ValueError, match="eps_cor"):
        KeyGenConfig(eps_cor=bad)


def test_length_announcement_bits():
    assert [length_announcement_bits(n) for n in (0, 1, 2, 3, 255, 256)] == [0, 1, 2, 2, 8, 9]
    with pytest.raises(ValueError, match="n_bits"):
        length_announcement_bits(-1)


def test_config_derives_margin_and_hash_and_refuses_both_eps_and_margin():
    cfg = KeyGenConfig()
    assert cfg.secrecy_epsilon == 1e-10 and cfg.eps_cor == 1e-10
    assert cfg.margin_bits == pa_margin_bits(1e-10) and cfg.verify_bits == 34
    assert KeyGenConfig(reconciliation="cascade").verify_bits == 36  # 1 + 4 extra passes
    explicit = KeyGenConfig(security_margin_bits=40)
    assert explicit.margin_bits == 40 and explicit.secrecy_epsilon == 2.0**-20
    assert explicit.security()["eps_sec_source"] == "security_margin_bits"
    loose = KeyGenConfig(eps_sec=1e-3, eps_cor=1e-3)
    assert loose.margin_bits < cfg.margin_bits and loose.verify_bits == 10
    with pytest.raises(ValueError, match="not both"):
        KeyGenConfig(eps_sec=1e-6, security_margin_bits=40)
    with pytest.raises(ValueError, match="security_margin_bits"):
        KeyGenConfig(security_margin_bits=-1)
    with pytest.raises(ValueError, match="training_fraction"):
        KeyGenConfig(training_fraction=1.0)
    with pytest.raises(ValueError, match="basis_from"):
        KeyGenConfig(basis_from="oracle")
    with pytest.raises(ValueError, match="guard"):  # only the exchangeable estimate covers it
        KeyGenConfig(guard=0.1, entropy_method="mcv")
    assert KeyGenConfig(**cfg.to_dict()) == cfg  # the dict round-trips


def test_smaller_eps_gives_shorter_keys(gaussian_pair):
    lengths = []
    for eps in (1e-3, 1e-10, 1e-30):
        rng = np.random.default_rng(11)
        za, zb = gaussian_pair(rng, 256, 2, 0.999)
        r = generate_key_pair(za, zb, rng, KeyGenConfig(eps_sec=eps, eps_cor=eps))
        assert r.status == "ok" and r.margin_bits == pytest.approx(pa_margin_bits(eps))
        lengths.append(r.final_key_bits)
    assert lengths[0] > lengths[1] > lengths[2]


# ------------------------------------------------------------------- every public message counted


def test_ldpc_counts_one_reply_bit_per_attempt_and_the_verdict(gaussian_pair, monkeypatch):
    """Force the first two decoding attempts to fail: the result counts one public answer of Bob
    per attempt plus one for the verification, and privacy amplification subtracts them and
    ceil(log2(n + 1)) bits for the announced length."""
    real = lr._decode
    calls = {"n": 0}

    def flaky(*args):
        calls["n"] += 1
        if calls["n"] <= 2:  # Bob answers "not converged": Alice splits rows
            return np.zeros(args[2].size, dtype=np.uint8), False
        return real(*args)

    monkeypatch.setattr(lr, "_decode", flaky)
    rng = np.random.default_rng(5)
    za, zb = gaussian_pair(rng, 256, 2, 0.99)
    r = generate_key_pair(za, zb, rng, KeyGenConfig(basis_from="block"))
    rec = r.reconciliation
    assert calls["n"] >= 3 and rec.iterations >= 3
    assert rec.reply_bits == rec.iterations + 1 == r.reply_bits
    n = r.raw_bits
    assert r.length_bits == math.ceil(math.log2(n + 1))
    assert r.leak_bits == r.disclosed_bits + r.reply_bits + r.length_bits
    cfg = KeyGenConfig()
    assert r.final_key_bits == math.floor(min(n, r.entropy_bits) - r.leak_bits - cfg.margin_bits)
    assert r.keys_agree


def test_ldpc_plane_given_up_counts_the_attempts_actually_made(gaussian_pair, monkeypatch):
    """Decoding never converges: the plane is disclosed after the attempts allowed, and exactly
    those attempts are counted (not a fixed maximum)."""
    calls = []

    def never(code, syndrome, hard, p_err, max_iter):
        calls.append(1)
        return np.zeros(hard.size, np.uint8), False

    monkeypatch.setattr(lr, "_decode", never)
    rng = np.random.default_rng(6)
    za, zb = gaussian_pair(rng, 128, 1, 0.99)
    r = generate_key_pair(za, zb, rng, KeyGenConfig(basis_from="block", bits_per_sample=2))
    rec = r.reconciliation
    assert rec.success and r.bdr_after == 0.0  # the disclosed planes are Alice's bits
    assert rec.parity_bits >= r.raw_bits  # every plane disclosed outright and counted
    assert rec.iterations == len(calls) >= 1  # the attempts made, not the maximum allowed
    assert rec.reply_bits == rec.iterations + 1
    assert r.final_key_bits == 0  # nothing left after disclosing everything


def test_cascade_reveals_error_pattern_and_entropy_is_taken_given_it(gaussian_pair):
    """Cascade's binary searches make the error pattern public; the entropy estimate is then
    conditioned on it (never above the plain estimate), and only the verification answers are
    counted as reply bits."""
    rng = np.random.default_rng(7)
    za, zb = gaussian_pair(rng, 512, 2, 0.995)
    cfg = KeyGenConfig(reconciliation="cascade", bits_per_sample=3, qber=0.05)
    r = generate_key_pair(za, zb, np.random.default_rng(1), cfg)
    rec = r.reconciliation
    assert rec.error_pattern_public and rec.success
    assert 1 <= rec.reply_bits <= cfg.verifications
    plain = generate_key_pair(za, zb, np.random.default_rng(1), KeyGenConfig(bits_per_sample=3))
    assert r.entropy_bits < plain.entropy_bits  # same levels, minus what the errors tell


def test_entropy_given_public_labels_never_exceeds_the_plain_estimate():
    rng = np.random.default_rng(8)
    levels = rng.permutation(np.repeat(np.arange(4), 64))
    plain = exchangeable_min_entropy_bits(levels)
    same = component_entropy_bits([levels], [2], classes=[np.zeros(256, dtype=int)])
    assert same == pytest.approx(plain)
    informative = component_entropy_bits([levels], [2], classes=[levels % 2])  # reveals a bit
    assert informative == pytest.approx(plain - 256, abs=20)
    random_labels = component_entropy_bits([levels], [2], classes=[rng.integers(0, 2, 256)])
    assert plain - 20 < random_labels < plain  # an independent label costs O(log n) bits


def test_cascade_one_bit_still_gives_keys(gaussian_pair):
    rng = np.random.default_rng(9)
    za, zb = gaussian_pair(rng, 1000, 4, 0.99)
    cfg = KeyGenConfig(bits_per_sample=1, reconciliation="cascade", entropy_method="mcv")
    r = generate_key_pair(za, zb, rng, cfg)
    assert r.status == "ok" and r.final_key_bits > 0


# ----------------------------------------------------------------------------- training rounds


def test_training_rounds_are_kept_out_of_the_key(gaussian_pair):
    """The public basis and correlations come from the first ceil(0.1 n) rounds; the key is
    quantised from the other rounds only: the features are exactly the key rounds projected on
    the training basis, and permuting the training rounds (same public statistics) gives the
    same key."""
    from plkg.keygen.decorrelation import fit_transforms

    rng = np.random.default_rng(10)
    n = 300
    za, zb = gaussian_pair(rng, n, 3, 0.99)
    za = za @ np.array([[1, 0.5, 0], [0, 1, 0.3j], [0.2, 0, 1]])
    cfg = KeyGenConfig()
    n_train = training_round_count(n, cfg)
    assert n_train == 30
    xa, xb, rho = aligned_real_pairs(za, zb, cfg)
    fa, _ = fit_transforms(za[:n_train], zb[:n_train], "klt")
    assert xa.shape[0] == n - n_train
    np.testing.assert_allclose(xa, real_features(za[n_train:] @ fa), rtol=0, atol=1e-12)

    key = generate_key_pair(za, zb, np.random.default_rng(3), cfg)
    assert key.training_rounds == n_train and key.n_rounds == n
    assert key.raw_bits == (n - n_train) * int(key.bits_per_component.sum())
    perm = np.concatenate([rng.permutation(n_train), np.arange(n_train, n)])
    shuffled = generate_key_pair(za[perm], zb[perm], np.random.default_rng(3), cfg)
    np.testing.assert_array_equal(shuffled.key_a, key.key_a)
    changed = za.copy()
    changed[n_train:] = changed[n_train:][::-1]  # other key rounds: another key
    other = generate_key_pair(changed, zb, np.random.default_rng(3), cfg)
    assert other.key_a.size == 0 or not np.array_equal(other.key_a[:64], key.key_a[:64])


def test_public_correlations_need_no_training(gaussian_pair):
    rng = np.random.default_rng(12)
    za, zb = gaussian_pair(rng, 128, 2, 0.999)
    rho = np.full(2, 0.999)
    r = generate_key_pair(za, zb, rng, KeyGenConfig(), correlation=rho)
    assert r.training_rounds == 0 and r.n_rounds == 128
    block = generate_key_pair(za, zb, rng, KeyGenConfig(basis_from="block"))
    assert block.training_rounds == 0


def test_too_short_block_for_training_is_refused(gaussian_pair):
    rng = np.random.default_rng(13)
    za, zb = gaussian_pair(rng, 8, 1, 0.99)
    with pytest.raises(ValueError, match="training_fraction"):
        generate_key_pair(za, zb, rng, KeyGenConfig(training_fraction=0.9))


def test_assumptions_name_eve_iid_eps_and_the_basis_source():
    text = " ".join(security_assumptions(KeyGenConfig()))
    for phrase in ("half a wavelength", "identically distributed", "eps_sec", "eps_cor"):
        assert phrase in text
    assert "training" in text or "first" in text
    assert "NOT COVERED" in " ".join(security_assumptions(KeyGenConfig(basis_from="block")))
    assert "public design" in " ".join(security_assumptions(KeyGenConfig(), True))


@pytest.mark.parametrize(
    "n, fraction, d, bound, fix",
    [
        (8, 0.1, 4, "n_components + 1 = 5", "use block_rounds >= 9"),
        (8, 0.9, 1, "training_fraction 0.9", "use block_rounds >= 40 or a smaller"),
        (8, 0.6, 4, "n_components + 1 = 5", "use block_rounds >= 10"),
        (7, 0.1, 1, "the minimum of 4", "use block_rounds >= 8"),
    ],
)
def test_too_short_block_names_the_binding_bound(n, fraction, d, bound, fix):
    cfg = KeyGenConfig(training_fraction=fraction)
    with pytest.raises(ValueError) as info:
        training_round_count(n, cfg, n_components=d)
    message = str(info.value)
    assert bound in message and fix in message
    if "smaller" not in fix:  # a smaller fraction cannot lower a binding n_components + 1
        assert "smaller" not in message
    shortest = int(fix.split(">= ")[1].split()[0])
    assert training_round_count(shortest, cfg, n_components=d) <= shortest - 4
    with pytest.raises(ValueError):
        training_round_count(shortest - 1, cfg, n_components=d)


def test_training_rounds_counted_once(gaussian_pair):
    """generate_key_pair reports the training rounds the basis was fitted on (one count)."""
    rng = np.random.default_rng(14)
    za, zb = gaussian_pair(rng, 40, 6, 0.99)
    key = generate_key_pair(za, zb, rng, KeyGenConfig())
    assert key.training_rounds == training_round_count(40, KeyGenConfig(), n_components=6) == 7
