"""``plkg keys --system nearfield|ris ... --json [--out DIR]``: simulate probing and generate keys.

Runs the full loop (precoders -> probing rounds -> per-component quantisation -> LDPC or
Cascade reconciliation -> Toeplitz privacy amplification) and prints, per UE / cell: final key
bits, final key bits per probing round next to the analytic KR of the configuration (Eq. (17)
of the near-field paper, Theorem 1 of the RIS paper) and their ratio, BDR before and after
reconciliation, bits leaked, key agreement and residual mismatch (a UE without key bits is
reported as "no key", never as agreement), and the security parameters and assumptions of the
keys (:data:`SECURITY_EPILOG`, the ``security`` object of the JSON). ``--out DIR`` writes
``ue<k>.txt`` / ``cell<k>.txt`` / ``link<k>.txt`` (Alice's final key bits, ASCII 0/1) and
``summary.json`` as one unit when the run has succeeded (:func:`commit_out`).

UEs, cells and links are numbered from 1 everywhere a user sees them: the text lines, the
``ue`` / ``cell`` / ``link`` fields of the JSON rows (listed in that order), the keys of
``key_files`` and the file names (``ue1.txt`` ... ``ueK.txt``). Progress goes to stderr
(:mod:`plkg.progress`): a bar over the key blocks in a terminal, otherwise a short line at most
every few seconds; then one summary line.

This module holds the options and the run; the parts are :mod:`plkg.commands._keys_options`
(options to pipeline settings), :mod:`plkg.commands._keys_modes` (simulators and measurement
files), :mod:`plkg.commands._keys_files` (``--out``), :mod:`plkg.commands._keys_report` (JSON
rows, security object, text lines) and :mod:`plkg.commands._keys_progress` (stderr).
"""

from __future__ import annotations

import numpy as np

from plkg.commands._keys_files import KEY_FILE_NAME as KEY_FILE_NAME
from plkg.commands._keys_files import SUMMARY_NAME, commit_out
from plkg.commands._keys_files import key_file_texts as key_file_texts
from plkg.commands._keys_modes import _measured, _nearfield, _ris
from plkg.commands._keys_options import _config
from plkg.commands._keys_progress import _Progress
from plkg.commands._keys_report import _agreement, _fmt, _key_material, _security, security_lines
from plkg.io.json_text import dumps_strict

SECURITY_EPILOG = """\
security of the keys (per key block; see plkg/keygen/privacy_amplification.py):
  length  ell = floor(min(n, H) - leak - 2 log2(1/eps_sec)) (leftover hash lemma, Toeplitz
          hashing); a verification hash of ceil(log2(v/eps_cor)) bits (v verifications per
          block: 1 for ldpc, 5 for cascade) makes the two keys differ with probability <= eps_cor.
          Defaults eps_sec = eps_cor = 1e-10: 66.4-bit margin, 34-bit hash (ldpc).
  leak    syndrome/parity bits + plane and verification hash bits + Bob's one-bit answer per
          decoding attempt and verification + ceil(log2(n+1)) bits for the announced length;
          cascade reveals the error pattern, so H is estimated given it. The decorrelation
          basis and correlations are estimated from the first --training-fraction of each
          block's rounds, which are published and give no key bits (--basis-from block: from
          the key rounds, leak NOT counted, comparisons only).
  assumes Eve's channels are independent of both legitimate channels (she is more than half a
          wavelength away), probing rounds are i.i.d., Eve is passive on an authenticated
          public channel. A key file of B blocks is B (eps_sec + eps_cor)-secure.
  keys from the simulator are reproducible TEST MATERIAL, NOT SECRETS: anyone with the same
  options and --seed gets the same keys. With --measurements the keys are only as secret as
  the measurement file is private.

UEs, cells and links are numbered from 1 (text, JSON fields ue/cell/link, file names).

--out DIR: the key files (ue<k>.txt, cell<k>.txt, link<k>.txt, k = 1, 2, ...) and summary.json are written
only when the whole run succeeds, all at once; files of those names left in DIR by an earlier
run are replaced or removed, other files are never touched. A failed or interrupted run leaves
DIR as it was.
"""


DEFAULT_ROUNDS = 1024  # probing rounds of the simulator when --rounds is not given


def register(sub) -> None:
    p = sub.add_parser(
        "keys",
        help="generate keys from simulated probing (reproducible test material, not secrets) or "
        "from --measurements; BDR, leak, key bits and the security parameters",
        epilog=SECURITY_EPILOG + "\nexample:\n  plkg keys --scenario fig6 --pa-dbm 10 --out keys/",
    )
    p.add_argument("--system", choices=("nearfield", "ris"), default="nearfield")
    p.add_argument(
        "--scenario",
        default=None,
        help="nearfield: config name or YAML (default fig6); ris: two-cell | four-cell | config name | YAML (default two-cell)",
    )
    power = p.add_mutually_exclusive_group()
    power.add_argument(
        "--pa-dbm",
        type=float,
        default=None,
        help="BS power budget P_a / P_A in dBm (default: scenario's; nearfield 20 dBm)",
    )
    power.add_argument("--pa-w", type=float, default=None, help="BS power budget in W")
    p.add_argument(
        "--method",
        default=None,
        help="nearfield: allocation method (default epa); ris: proposed | no-ris | rand-phase (default proposed)",
    )
    p.add_argument("--n-ris-elements", type=int, default=None, help="ris: N, elements per RIS")
    p.add_argument(
        "--rounds",
        type=int,
        default=None,
        help="probing rounds (coherence times) of the simulator, default 1024; with "
        "--measurements the file's rounds are used",
    )
    p.add_argument(
        "--block-rounds", type=int, default=None, help="rounds per key block (default: all rounds)"
    )
    p.add_argument(
        "--quantizer", choices=("equiprobable", "mean-threshold"), default="equiprobable"
    )
    p.add_argument(
        "--bits-per-sample",
        type=int,
        default=None,
        help="bits per real measurement (equiprobable); default: chosen per component from its "
        "correlation (plkg.keygen.adaptive_bits)",
    )
    p.add_argument(
        "--reconciliation",
        choices=("ldpc", "cascade"),
        default="ldpc",
        help="ldpc: one-way syndromes per bit plane with soft information (default); cascade",
    )
    p.add_argument(
        "--out",
        metavar="DIR",
        default=None,
        help="write each UE's / cell's final key bits (ASCII 0/1, Alice's side, as `plkg nist` "
        "reads them) and summary.json into DIR when the run succeeds; earlier ue*/cell*/link*.txt "
        "and summary.json files in DIR are replaced or removed (see below)",
    )
    p.add_argument(
        "--guard",
        type=float,
        default=0.0,
        help="guard band (CDF mass, or alpha in std for mean-threshold)",
    )
    p.add_argument(
        "--eps-sec",
        type=float,
        default=None,
        help="secrecy parameter of a key block in (0, 1): privacy-amplification margin "
        "2 log2(1/eps_sec) bits (default 1e-10)",
    )
    p.add_argument(
        "--eps-cor",
        type=float,
        default=None,
        help="correctness parameter of a key block in (0, 1): verification hash of "
        "ceil(log2(v/eps_cor)) bits (default 1e-10)",
    )
    p.add_argument(
        "--security-margin-bits",
        type=float,
        default=None,
        help="explicit privacy-amplification margin instead of 2 log2(1/eps_sec) (the implied "
        "eps_sec is reported); not with --eps-sec. Default: from --eps-sec",
    )
    p.add_argument(
        "--basis-from",
        choices=("training", "block"),
        default="training",
        help="training (default): decorrelation basis and correlations from the first "
        "--training-fraction of each block's rounds, which give no key bits; block: from the key "
        "rounds themselves, leak not counted (comparisons only)",
    )
    p.add_argument(
        "--training-fraction",
        type=float,
        default=None,
        help="share of each block's rounds used for training, in (0, 1) (default 0.1)",
    )
    p.add_argument(
        "--quiet",
        action="store_true",
        help="no progress bar or summary line on stderr (same as the global plkg --quiet)",
    )
    p.add_argument(
        "--min-subchannel-kr-bits",
        type=float,
        default=None,
        help="nearfield: subchannel selection threshold (default 2)",
    )
    p.add_argument(
        "--decorrelation",
        choices=("klt", "cca", "none"),
        default="klt",
        help="transform before quantising (default klt)",
    )
    p.add_argument(
        "--max-components",
        type=int,
        default=None,
        help="keep at most this many components per UE/cell",
    )
    p.add_argument(
        "--measurements",
        metavar="FILE",
        default=None,
        help="use paired measurements instead of the simulator: .npz or .mat with 'alice' and "
        "'bob' [n_rounds, n_components] or [n_rounds, n_users, n_components] (real or complex, "
        "row = one probing round), optional 'correlation' [(n_users,) n_components] (public "
        "|rho| of independent components) and 'analytic_kr_bits' [n_users]",
    )
    p.add_argument(
        "--ccm",
        metavar="FILE.npz",
        default=None,
        help="nearfield: design with this channel covariance (array 'ccm' [K, N, N] complex, the "
        "format `plkg scenario --export` writes) instead of the scenario's",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of all randomness")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run)


def run_keys(args) -> dict:
    """Run the key loop for the parsed arguments and return the JSON report.

    With ``--out`` the key files and summary.json are written by :func:`commit_out` once the
    whole run has succeeded; nothing is written before.
    """
    import time

    from plkg.commands._paths import output_folder

    config = _config(args)
    if args.out is not None:
        output_folder(args.out, "--out")  # refused before any work
    rng = np.random.default_rng(args.seed)
    if args.measurements is None and args.rounds is None:
        args.rounds = DEFAULT_ROUNDS
    if args.rounds is not None and args.rounds < 8:
        raise ValueError(f"--rounds must be >= 8, got {args.rounds}")
    if args.measurements is None and args.block_rounds is not None:
        if not 8 <= args.block_rounds <= args.rounds:
            raise ValueError(
                f"--block-rounds must lie in [8, --rounds = {args.rounds}], got {args.block_rounds}"
            )
    args._key_files = {}  # filled by _maybe_write, written by commit_out at the end
    t0 = time.perf_counter()
    with _Progress(args) as progress:
        if args.measurements is not None:
            out = _measured(args, config, rng, progress)
        elif args.system == "nearfield":
            out = _nearfield(args, config, rng, progress)
        else:
            out = _ris(args, config, rng, progress)
    out["config"] = config.to_dict()
    out["seed"] = args.seed
    out["rounds"] = args.rounds
    out["key_material"] = _key_material(args)["key_material"]
    out["security"] = _security(config, args, out)
    if args.out is not None:
        files = dict(args._key_files)
        files[SUMMARY_NAME] = dumps_strict(out, indent=2) + "\n"
        commit_out(args.out, files)
    progress.summary(out, time.perf_counter() - t0)  # only after success: errors stay one line
    return out


def run(args) -> int:
    report = run_keys(args)
    if args.json:
        print(dumps_strict(report, indent=2))
        return 0
    rows = report.get("users") or report.get("cells")
    label = {"nearfield": "UE", "ris": "cell"}.get(report["system"], "link")
    print(
        f"plkg keys: {report['system']} {report['scenario']} method "
        f"{report.get('method_used', report.get('method'))}, seed {report['seed']}, "
        f"{report['rounds']} rounds"
    )
    for i, r in enumerate(rows):
        print(
            f"  {label} {i + 1}: analytic KR {_fmt(r.get('analytic_kr_bits'), '.3f')} bits/round, final {r['final_bits_per_round']:.3f} bits/round "
            f"({r['final_key_bits']} bits, {_fmt(r.get('efficiency'), '.1%')} of KR), "
            f"BDR {_fmt(r.get('bdr_before'))} -> {_fmt(r.get('bdr_after'))}, "
            f"leak {r.get('leak_bits', 0)} bits (disclosed {r.get('disclosed_bits', 0)}, "
            f"replies {r.get('reply_bits', 0)}, length {r.get('length_bits', 0)}), {_agreement(r)}"
        )
    for line in security_lines(report["security"]):
        print(line)
    if report.get("key_files") is not None:
        print(f"  key bits and summary.json written to {args.out}")
    return 0
