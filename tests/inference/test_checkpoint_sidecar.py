"""A checkpoint's JSON sidecar is covered by its own hash: any edit is refused."""

from __future__ import annotations

import copy
import hashlib
import json

import pytest

from plkg.defaults import checkpoint_path
from plkg.inference.checkpoint import CHECKPOINT_FORMAT, load_checkpoint
from plkg.io.sidecar_hash import canonical_json, sidecar_sha256, with_sidecar_sha256

pytestmark = pytest.mark.surface  # no floating-point kernel decides these outcomes


@pytest.fixture
def signed(tmp_path):
    """A format-2 copy of the shipped KGLM-Net checkpoint (weights unchanged, sidecar re-signed)."""
    src = checkpoint_path("kglm_fig6")
    weights = tmp_path / "k.safetensors"
    weights.write_bytes(src.with_suffix(".safetensors").read_bytes())
    meta = json.loads(src.with_suffix(".json").read_text())
    meta["format"] = CHECKPOINT_FORMAT
    meta = with_sidecar_sha256(meta)
    (tmp_path / "k.json").write_text(json.dumps(meta, indent=2, sort_keys=True))
    return weights, meta


def test_digest_is_an_independent_sha256_of_the_canonical_json():
    meta = {"b": [1, 2.5], "a": {"z": "é", "y": None}, "sidecar_sha256": "ignored"}
    text = '{"a":{"y":null,"z":"\\u00e9"},"b":[1,2.5]}'
    assert canonical_json(meta) == text.encode()
    assert sidecar_sha256(meta) == hashlib.sha256(text.encode()).hexdigest()


def test_signed_sidecar_loads_and_reindenting_is_no_edit(signed, tmp_path):
    weights, meta = signed
    assert load_checkpoint(weights).meta["sidecar_sha256"] == meta["sidecar_sha256"]
    (tmp_path / "k.json").write_text(json.dumps(meta))  # same content, other layout
    load_checkpoint(weights)


EDITS = {
    "training range": lambda m: m["training_range"].__setitem__("hi", 60.0),
    "input normalisation": lambda m: m["normalization"]["input"].__setitem__("hi", 99.0),
    "label normalisation": lambda m: m["normalization"]["label"].__setitem__("lo", -1.0),
    "activation": lambda m: m["architecture"].__setitem__("activation", "relu"),
    "fingerprint": lambda m: m.__setitem__("scenario_fingerprint", "0" * 16),
    "label name": lambda m: m.__setitem__("label_name", "t"),
    "new key": lambda m: m.__setitem__("note", "harmless?"),
    "hash removed": lambda m: m.pop("sidecar_sha256"),
    "hash forged": lambda m: m.__setitem__("sidecar_sha256", "f" * 64),
}


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_any_sidecar_edit_is_refused(signed, tmp_path, edit):
    weights, meta = signed
    meta = copy.deepcopy(meta)
    EDITS[edit](meta)
    (tmp_path / "k.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="sidecar"):
        load_checkpoint(weights)


def test_legacy_format_loads_with_a_warning(tmp_path):
    src = checkpoint_path("kglm_fig6")
    meta = json.loads(src.with_suffix(".json").read_text())
    meta.pop("sidecar_sha256", None)
    meta["format"] = "plkg-fnn-checkpoint-1"
    (tmp_path / "k.json").write_text(json.dumps(meta))
    (tmp_path / "k.safetensors").write_bytes(src.with_suffix(".safetensors").read_bytes())
    with pytest.warns(UserWarning, match="no sidecar_sha256"):
        load_checkpoint(tmp_path / "k.safetensors")


def test_numpy_backend_matches_torch_and_imports_no_torch():
    """The CLI's NumPy forward equals the torch net to 1e-13 and never imports torch."""
    import subprocess
    import sys

    import numpy as np

    from plkg import defaults
    from plkg.inference.checkpoint import load_checkpoint

    for name in ("kglm_fig6", "fairness_fig6"):
        path = defaults.checkpoint_path(name)
        ref, fast = load_checkpoint(path), load_checkpoint(path, backend="numpy")
        lo, hi = ref.training_range
        grid = np.linspace(lo, hi, 101)
        np.testing.assert_allclose(fast.predict(grid), ref.predict(grid), rtol=1e-13)
        for key in ("m_a", "m_b", "user"):
            np.testing.assert_array_equal(fast.design[key], ref.design[key])
    code = (
        "import sys; from plkg import defaults; from plkg.inference.allocator import Allocator; "
        "a = Allocator.from_checkpoint(defaults.checkpoint_path('kglm_fig6'), backend='numpy'); "
        "a.allocation(0.01); print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
