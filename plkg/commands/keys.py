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
"""

from __future__ import annotations

import contextlib
import re
import sys

import numpy as np

from plkg.io.json_text import dumps_strict

#: Names of the files ``--out`` writes; earlier files of these names in DIR are replaced or removed.
KEY_FILE_NAME = re.compile(r"(ue|cell|link)[0-9]+\.txt")
SUMMARY_NAME = "summary.json"

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


def _config(args):
    from plkg.keygen.pipeline import KeyGenConfig

    kwargs = {
        "quantizer": args.quantizer,
        "bits_per_sample": args.bits_per_sample,
        "reconciliation": args.reconciliation,
        "guard": args.guard,
        "decorrelation": args.decorrelation,
        "max_components": args.max_components,
    }
    kwargs.update(_security_options(args))
    return KeyGenConfig(**kwargs)


def _security_options(args) -> dict:
    """KeyGenConfig keywords of --eps-sec, --eps-cor, --security-margin-bits, --basis-from,
    --training-fraction, checked here so that every message names the option."""
    from plkg.keygen.privacy_amplification import check_epsilon as open_unit  # (0, 1)

    out = {"basis_from": args.basis_from}
    if args.eps_sec is not None and args.security_margin_bits is not None:
        raise ValueError(
            "--eps-sec and --security-margin-bits exclude each other (the margin is "
            "2 log2(1/eps_sec)); give one"
        )
    if args.eps_sec is not None:
        out["eps_sec"] = open_unit(args.eps_sec, "--eps-sec")
    if args.eps_cor is not None:
        out["eps_cor"] = open_unit(args.eps_cor, "--eps-cor")
    margin = args.security_margin_bits
    if margin is not None:
        if not (np.isfinite(margin) and margin >= 0):
            raise ValueError(f"--security-margin-bits must be a finite number >= 0, got {margin!r}")
        out["security_margin_bits"] = float(margin)
    if args.training_fraction is not None:
        if args.basis_from != "training":
            raise ValueError("--training-fraction applies to --basis-from training only")
        out["training_fraction"] = open_unit(args.training_fraction, "--training-fraction")
    return out


def _power_w(args, default_dbm: float) -> float:
    from plkg import units

    if args.pa_w is not None:
        if not (np.isfinite(args.pa_w) and args.pa_w > 0):
            raise ValueError(f"--pa-w must be positive, got {args.pa_w}")
        return float(args.pa_w)
    dbm = default_dbm if args.pa_dbm is None else args.pa_dbm
    if not np.isfinite(dbm):
        raise ValueError(f"--pa-dbm must be finite, got {dbm}")
    return float(units.dbm_to_w(dbm))


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


def _keys_of(entry: dict) -> np.ndarray:
    """Alice's final key bits of all blocks whose keys are identical, concatenated."""
    keys = [b.key_a for b in entry.get("blocks", []) if b.keys_agree]
    return np.concatenate(keys).astype(np.int8) if keys else np.zeros(0, dtype=np.int8)


def key_file_texts(rows: list[dict], label: str) -> dict[str, str]:
    """``{label}{k}.txt`` -> Alice's final key bits as ASCII 0/1 (one line), per row with bits.

    ``k`` counts the rows from 1 (``ue1.txt`` is the first UE). Rows without key bits get no
    file. Names follow a fixed pattern: no user text in them.
    """
    files = {}
    for i, row in enumerate(rows):
        bits = _keys_of(row)
        if bits.size:
            files[f"{label}{i + 1}.txt"] = "".join("01"[int(v)] for v in bits) + "\n"
    return files


def _own_file(name: str) -> bool:
    """A name ``--out`` writes: ue<k>.txt, cell<k>.txt, link<k>.txt or summary.json."""
    return name == SUMMARY_NAME or KEY_FILE_NAME.fullmatch(name) is not None


def commit_out(out_dir, files: dict[str, str]) -> None:
    """Write ``files`` (name -> text) into ``out_dir`` as one unit, replacing the last run's.

    Everything is first written into a temporary folder: next to ``out_dir`` when it does not
    exist yet (then renamed to ``out_dir``), inside it otherwise. Only then are the new key files
    renamed into place, then ``summary.json`` (the new run's summary appears only once all its
    key files are there), and last the earlier files of this command's names
    (:func:`_own_file`) that this run did not write are removed. SIGINT / SIGTERM are held
    during these steps (acted on right after them). An error before the renames leaves
    ``out_dir`` as it was; one during them leaves the old summary.json describing the old run
    (whose files are still there) until the new one is in place. The temporary folder is
    removed. Other files in ``out_dir`` are never touched.
    """
    import shutil
    import tempfile
    from pathlib import Path

    out = Path(out_dir)
    names = sorted(files, key=lambda n: n == SUMMARY_NAME)  # summary.json last
    fresh = not out.exists()
    parent = out.parent if fresh else out
    parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.plkg-keys.", suffix=".tmp", dir=parent))
    try:
        for name in names:
            (stage / name).write_text(files[name], encoding="utf-8")
        with _signals_held():
            if fresh:
                _plain_permissions(stage)
                stage.rename(out)
                return
            stale = [
                q
                for q in out.iterdir()
                if _own_file(q.name) and q.name not in files and q.is_file()
            ]
            for name in names:  # key files first, summary.json last
                (stage / name).replace(out / name)
            for q in stale:  # the previous run's files this run did not write
                q.unlink(missing_ok=True)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _plain_permissions(folder) -> None:
    """mkdtemp makes 0700 folders; give the renamed folder the mode a plain mkdir would."""
    import os

    umask = os.umask(0)
    os.umask(umask)
    os.chmod(folder, 0o777 & ~umask)


def _signals_held():
    """Context in which SIGINT and SIGTERM wait (POSIX main thread; elsewhere a no-op)."""
    import contextlib
    import signal
    import threading

    @contextlib.contextmanager
    def held():
        block = getattr(signal, "pthread_sigmask", None)
        if block is None or threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = block(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        try:
            yield
        finally:
            block(signal.SIG_SETMASK, previous)

    return held()


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


def _nearfield(args, config, rng, progress) -> dict:
    """``--system nearfield``: design, allocate, probe and generate a key per UE."""
    from plkg import units
    from plkg.channels.nearfield_scenario import load_scenario
    from plkg.keygen.nearfield_keys import (
        DEFAULT_MIN_SUBCHANNEL_KR_BITS,
        nearfield_key_generation,
    )

    if args.n_ris_elements is not None:
        raise ValueError("--n-ris-elements applies to --system ris only")
    scenario = load_scenario(args.scenario or "fig6")
    design = _design_with_ccm(args.ccm, scenario) if args.ccm else None
    pa_w = _power_w(args, 20.0)
    threshold = (
        DEFAULT_MIN_SUBCHANNEL_KR_BITS
        if args.min_subchannel_kr_bits is None
        else args.min_subchannel_kr_bits
    )
    progress.start(scenario.n_users, args.rounds, args.block_rounds)
    out = nearfield_key_generation(
        scenario,
        pa_w,
        args.rounds,
        rng,
        method=args.method or "epa",
        config=config,
        block_rounds=args.block_rounds,
        min_subchannel_kr_bits=threshold,
        design=design,
        progress=progress.tick,
    )
    out["key_files"] = _maybe_write(args, out["users"], "ue")
    out["users"] = [_strip(u) for u in out["users"]]
    out["scenario"] = scenario.name
    out["pa_dbm"] = float(units.w_to_dbm(pa_w))
    return out


def _ris(args, config, rng, progress) -> dict:
    """``--system ris``: optimise the RIS, probe and generate a key per cell."""
    from plkg import units
    from plkg.channels.ris_scenario import load_ris_scenario
    from plkg.keygen.ris_keys import ris_key_generation

    if args.min_subchannel_kr_bits is not None:
        raise ValueError("--min-subchannel-kr-bits applies to --system nearfield only")
    if args.ccm is not None:
        raise ValueError("--ccm applies to --system nearfield only")
    overrides = {}
    if args.n_ris_elements is not None:
        overrides["n_ris_elements"] = args.n_ris_elements
    if args.pa_dbm is not None or args.pa_w is not None:
        overrides["bs_power_dbm"] = float(units.w_to_dbm(_power_w(args, 30.0)))
    scenario = load_ris_scenario(args.scenario or "two-cell", **overrides)
    _check_training_split(args, config, scenario.n_rf_chains)  # before the RIS optimisation
    progress.start(scenario.n_cells, args.rounds, args.block_rounds)
    out = ris_key_generation(
        scenario,
        args.rounds,
        rng,
        method=args.method or "proposed",
        config=config,
        block_rounds=args.block_rounds,
        progress=progress.tick,
    )
    for c in out["cells"]:
        kr = c["analytic_kr_bits"]
        c["efficiency"] = c["final_bits_per_round"] / kr if kr > 0 else float("nan")
    out["key_files"] = _maybe_write(args, out["cells"], "cell")
    out["cells"] = [_strip(c) for c in out["cells"]]
    out["scenario"] = scenario.name
    return out


def _check_training_split(args, config, n_components: int) -> None:
    """The training rounds of a block (``n_components`` + 1 at least) and 4 key rounds must fit
    in ``--block-rounds`` (or ``--rounds``): refused before any work, naming the options."""
    from plkg.errors import PlkgInputError
    from plkg.keygen.pipeline import training_round_count

    option = "--rounds" if args.block_rounds is None else "--block-rounds"
    block = args.rounds if args.block_rounds is None else args.block_rounds
    try:
        training_round_count(
            block,
            config,
            None,
            n_components,
            block_name=option,
            fraction_name="--training-fraction",
        )
    except ValueError as exc:
        raise PlkgInputError(f"{option} {block}: {exc}") from exc


class _Progress:
    """Progress over the key blocks of all UEs / cells / links, on stderr.

    A bar while the blocks run when stderr is a terminal, otherwise a compact line at most
    every few seconds (``[keys] 12/40 blocks, UE 2, 31 s``, :func:`plkg.progress.progress_bar`);
    one summary line after a successful run; ``--quiet`` (or the global ``plkg --quiet``):
    none of it. A pending Ctrl-C / SIGTERM is raised between blocks (the CLI boundary makes it
    exit 130 / 143); the bar is closed on the way out.
    """

    def __init__(self, args):
        from plkg.progress import is_quiet

        self.quiet = bool(getattr(args, "quiet", False)) or is_quiet()
        self.bar = None
        self._stack = contextlib.ExitStack()

    def __enter__(self):
        return self

    def start(self, n_links: int, n_rounds: int, block_rounds) -> None:
        from plkg.progress import progress_bar

        if self.quiet:
            return
        block = n_rounds if block_rounds is None else int(block_rounds)
        total = int(n_links) * (int(n_rounds) // block) if block >= 1 else 0
        # summary=False: the command's own summary line (:meth:`summary`) is the one line
        self.bar = self._stack.enter_context(
            progress_bar(total, desc="keys", unit="block", summary=False)
        )

    def tick(self, label: str) -> None:
        if self.bar is not None:
            self.bar.update(1, note=label)

    def summary(self, out: dict, seconds: float) -> None:
        """The one summary line on stderr (not with --quiet)."""
        if self.quiet:
            return
        rows = out.get("users") or out.get("cells") or []
        blocks = sum(int(r.get("blocks") or 0) for r in rows)
        label = {"nearfield": "UEs", "ris": "cells"}.get(out.get("system"), "links")
        print(
            f"plkg keys: {len(rows)} {label}, {blocks} key blocks in {seconds:.1f} s",
            file=sys.stderr,
        )

    def __exit__(self, *exc):
        self.bar = None
        self._stack.__exit__(*exc)
        return False


def _measured(args, config, rng, progress=None) -> dict:
    """``--measurements FILE``: the pipeline on the user's paired measurements.

    The file's rounds are used and reported; a ``--rounds`` other than the file's is refused.
    ``progress`` (a :class:`_Progress`, optional) is started once the file's size is known.
    """
    from plkg.keygen.measurement_keys import load_measurements, measurement_key_generation

    for flag, value in (("--ccm", args.ccm), ("--n-ris-elements", args.n_ris_elements)):
        if value is not None:
            raise ValueError(f"{flag} does not apply with --measurements")
    data = load_measurements(args.measurements)
    if args.rounds not in (None, data["n_rounds"]):
        raise ValueError(
            f"--rounds {args.rounds} does not apply with --measurements: the file's "
            f"{data['n_rounds']} rounds are used"
        )
    tick = None
    if progress is not None:
        progress.start(data["alice"].shape[1], data["n_rounds"], args.block_rounds)
        tick = progress.tick
    out = measurement_key_generation(data, rng, config, args.block_rounds, tick)
    args.rounds = data["n_rounds"]  # run_keys reports args.rounds: the file's, not the default
    out["key_files"] = _maybe_write(args, out["users"], "link")
    out["users"] = [_strip(u) for u in out["users"]]
    out["scenario"] = str(args.measurements)
    return out


def _design_with_ccm(path, scenario):
    """Near-field design from a user covariance file (``ccm`` [K, N, N], `plkg scenario --export`).

    :func:`plkg.io.ccm_file.read_ccm` checks the file (shape, finite, Hermitian, positive
    semidefinite, no all-zero UE) before any design work.
    """
    from plkg.io.ccm_file import read_ccm
    from plkg.precoding.block_diagonalization import design_for_scenario

    n = scenario.n_antennas
    ccm = read_ccm(path, expected_shape=(len(scenario.ue_distance_m), n, n), what="--ccm")
    return design_for_scenario(scenario, ccm=ccm)


def _maybe_write(args, rows, label):
    """With ``--out``: the key files' texts are kept for :func:`commit_out` (written only when
    the whole run succeeds); returns the row's number from 1 (as text) -> file name, or None
    without --out."""
    if args.out is None:
        return None
    files = key_file_texts(rows, label)
    if not hasattr(args, "_key_files"):
        args._key_files = {}
    args._key_files.update(files)
    return {name[len(label) : -len(".txt")]: name for name in files}


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
    from plkg.keygen.pipeline import security_assumptions

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
