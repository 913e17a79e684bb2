"""The bottom layer for files: what plkg writes and what a user hands in.

* Writing: :mod:`plkg.io.atomic` (temporary name in the target folder, then rename: nothing
  half-written), :mod:`plkg.io.sidecar_hash` (a JSON sidecar's SHA-256 over its canonical form),
  :mod:`plkg.io.folder_lock` (one writer per dataset folder or sweep table).
* Reading: safe readers of ``.npz`` (:mod:`plkg.io.arrays`, never pickle), CCM files ``.npy`` /
  ``.npz`` / ``.mat`` (:mod:`plkg.io.ccm_file`), YAML (:mod:`plkg.io.yaml_file`) and strict JSON
  (:mod:`plkg.io.json_text`). Every reader raises :class:`plkg.errors.PlkgInputError` (a
  ValueError, CLI exit 2) with one line that names the file, the field and what is wrong, before
  any work starts.

Modules here import only :mod:`plkg.errors` and third-party libraries, never another plkg layer.
"""
