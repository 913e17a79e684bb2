"""The report of ``plkg keys``: JSON rows, the ``security`` object and its text lines.

The ``security`` object states the parameters of every key block (eps_sec and the margin
2 log2(1/eps_sec), eps_cor and the ceil(log2(v / eps_cor))-bit verification hash), the leak
counted, the assumptions (:mod:`plkg.keygen.security_assumptions`) and what the key material is
(reproducible test material from the simulator, or as secret as a measurement file). A key file
of B blocks is B (eps_sec + eps_cor)-secure.
"""

from __future__ import annotations


def _strip(entry: dict) -> dict:
    """Per-block objects become their count; NaN (no bits, e.g. no usable subchannel) null.

    The 0-based ``user`` index is dropped: the row's ``ue`` / ``cell`` / ``link`` number
    (from 1) names it.
    """
    out = {
        k: (None if isinstance(v, float) and v != v else v) for k, v in entry.items() if k != "user"
    }
    if isinstance(out.get("blocks"), list):
        out["blocks"] = len(out["blocks"])
    return out


def _key_material(args) -> dict:
    """What the keys are: reproducible test material (simulator) or measured."""
    if args.measurements is not None:
        return {
            "key_material": "measured",
            "key_material_note": (
                "keys from the measurement file are only as secret as the file is private "
                "(and as the measurements meet the assumptions); anyone holding the file and "
                "these options can recompute them"
            ),
        }
    return {
        "key_material": "test",
        "key_material_note": (
            f"keys from a simulated channel with the printed seed ({args.seed}) are reproducible "
            "test material, not secrets: anyone running the same command gets the same keys"
        ),
    }


def _security(config, args, out: dict) -> dict:
    """The ``security`` object of the report: parameters, leak accounting, assumptions."""
    from plkg.keygen.security_assumptions import security_assumptions

    rows = out.get("users") or out.get("cells") or []
    sec = config.security()
    sources = {r["basis_source"] for r in rows if "basis_source" in r}
    public = sources == {"public"} if sources else args.system == "nearfield"
    blocks = max([int(r.get("blocks") or 0) for r in rows] + [1])
    eps_block = sec["eps_sec"] + sec["eps_cor"]
    return {
        **sec,
        "margin_formula": "2 log2(1/eps_sec)"
        if sec["eps_sec_source"] != "security_margin_bits"
        else "explicit (--security-margin-bits); eps_sec = 2^(-margin/2)",
        "hash_formula": "ceil(log2(verifications_per_block / eps_cor))",
        "key_length": "ell = floor(min(n, H) - leak_bits - margin_bits) per block",
        "leak_accounting": (
            "leak_bits = disclosed_bits (syndrome/parity, plane and verification hash bits) + "
            "reply_bits (Bob's one-bit answer per decoding attempt and verification) + "
            "length_bits (ceil(log2(n + 1)) for the announced length)"
        ),
        "public_correlation": bool(public),
        "training_rounds_total": int(sum(int(r.get("training_rounds") or 0) for r in rows)),
        "eps_per_block": eps_block,
        "blocks_per_key_file": blocks,
        "eps_per_key_file": blocks * eps_block,
        "assumptions": security_assumptions(config, public_correlation=public),
        **_key_material(args),
    }


def security_lines(sec: dict) -> list[str]:
    """The ``security`` object as text lines (parameters, leak, assumptions, key material)."""
    lines = [
        f"  security per key block: eps_sec {sec['eps_sec']:.3g} "
        f"(privacy-amplification margin {sec['margin_bits']:.2f} bits, {sec['margin_formula']}), "
        f"eps_cor {sec['eps_cor']:.3g} ({sec['hash_bits']}-bit verification hash, "
        f"<= {sec['verifications_per_block']} per block); a key file of "
        f"{sec['blocks_per_key_file']} block(s) is {sec['eps_per_key_file']:.3g}-secure",
        f"  leak counted: {sec['leak_accounting']}",
        "  assumptions:",
    ]
    lines += [f"    - {a}" for a in sec["assumptions"]]
    lines.append(f"  key material: {sec['key_material'].upper()}: {sec['key_material_note']}")
    return lines


def _agreement(row: dict) -> str:
    """Agreement only where there is a key: a 0-bit key is never reported as agreement."""
    status = row.get("status", "ok")
    if status == "no-key" or row.get("key_agreement_ratio") is None:
        return f"no key: {row['note']}" if row.get("note") else "no key"
    text = (
        f"agreement {row['key_agreement_ratio']:.4f}, "
        f"residual mismatch {row.get('residual_mismatch_bits', 0)} bits"
    )
    return text if status == "ok" else f"{text} [{status}]"


def _fmt(value, spec: str = ".4f") -> str:
    return "n/a" if value is None or value != value else format(value, spec)
