"""``plkg cache list|size|clear``: the design cache (:mod:`plkg.precoding.design_cache`).

The cache folder is ``$PLKG_CACHE_DIR`` if set, else the user cache folder of plkg. ``list``
prints one line per entry (key, size, last use, and the scenario's name, N and K where the entry
records them); ``size`` the entry count, total bytes and folder; ``--json`` prints either as
strict JSON. An entry that cannot be read is listed as unreadable (it is recomputed when used).
``clear`` removes design entries (regular files ``design-KEY.npz``, KEY 32 hex digits;
``--older-than DAYS``: only those not used for that long) and temporary entry files left by killed
writes, never another file, and prints each path removed (``--dry-run``: each path it would
remove, nothing removed); a file it cannot remove gets one warning line on stderr.
"""

from __future__ import annotations

import time

from plkg.io.json_text import dumps_strict


def register(sub) -> None:
    p = sub.add_parser("cache", help="list, size or clear the design cache")
    actions = p.add_subparsers(dest="action", required=True, metavar="{list,size,clear}")
    listing = actions.add_parser("list", help="one line per design entry")
    listing.add_argument("--json", action="store_true", help="print a strict JSON list")
    size = actions.add_parser("size", help="entry count, total bytes and folder")
    size.add_argument("--json", action="store_true", help="print strict JSON")
    clear = actions.add_parser("clear", help="remove design entries (plkg's files only)")
    clear.add_argument(
        "--older-than",
        type=float,
        default=None,
        metavar="DAYS",
        help="remove only entries not used for more than DAYS days (default: every entry)",
    )
    clear.add_argument(
        "--dry-run", action="store_true", help="print what would be removed, remove nothing"
    )
    p.set_defaults(func=run)


def _size_text(n_bytes: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n_bytes < 1000 or unit == "GB":
            return f"{n_bytes:.0f} {unit}" if unit == "B" else f"{n_bytes:.1f} {unit}"
        n_bytes /= 1000
    return f"{n_bytes} B"  # not reached


def _entry_line(entry) -> str:
    used = time.strftime("%Y-%m-%d %H:%M", time.localtime(entry.last_used))
    meta = entry.meta
    if entry.unreadable is not None:
        scenario = f"  (unreadable: {entry.unreadable})"
    elif {"scenario", "n_antennas", "n_users"} <= set(meta):
        scenario = f"  {meta['scenario']} (N = {meta['n_antennas']}, K = {meta['n_users']})"
    else:
        scenario = "  (scenario not recorded)"
    return f"{entry.key}  {_size_text(entry.size_bytes):>9}  used {used}{scenario}"


def run(args) -> int:
    from plkg.precoding import design_cache

    if args.action == "list":
        entries = design_cache.list_entries()
        if args.json:
            print(dumps_strict([e.to_dict() for e in entries], indent=2))
        else:
            for entry in entries:
                print(_entry_line(entry))
        return 0
    if args.action == "size":
        size = design_cache.cache_size()
        if args.json:
            print(dumps_strict(size, indent=2))
        else:
            print(
                f"{size['entries']} design entr{'y' if size['entries'] == 1 else 'ies'}, "
                f"{_size_text(size['bytes'])} ({size['bytes']} bytes) in {size['folder']}"
            )
        return 0
    removed = design_cache.clear_entries(older_than_days=args.older_than, dry_run=args.dry_run)
    verb = "would remove" if args.dry_run else "removed"
    for path in removed:
        print(f"{verb} {path}")
    print(f"plkg cache: {verb} {len(removed)} file(s) from {design_cache.default_cache_dir()}")
    return 0
