"""User-facing parameter sweeps: ``plkg sweep SPEC.yaml --out results.parquet``.

* :mod:`plkg.sweep.spec`: parse and validate a YAML spec (all of it, before anything runs), expand
  it into tasks (plain dicts) with seeds derived from the spec and each task's parameters; its
  parts are :mod:`~plkg.sweep.spec_model`, :mod:`~plkg.sweep.values`,
  :mod:`~plkg.sweep.spec_methods`, :mod:`~plkg.sweep.domains`, :mod:`~plkg.sweep.seeds`,
  :mod:`~plkg.sweep.expansion` and :mod:`~plkg.sweep.extension`.
* :mod:`plkg.sweep.tasks`: the task functions (one scenario design shared by every P_a and method;
  plain rows out, a failure becomes an error row). They call every allocator, so this layer sits
  above :mod:`plkg.inference`.
* :mod:`plkg.sweep.table`: Parquet parts written atomically as tasks finish, each recorded with its
  SHA-256 and verified on resume; one writer per table (a lock); read back. Its parts are
  :mod:`~plkg.sweep.table_files`, :mod:`~plkg.sweep.table_schema`,
  :mod:`~plkg.sweep.table_writer` and :mod:`~plkg.sweep.table_reader`.

The tasks run on the execution layer (:mod:`plkg.parallel`): serially, on a ``LocalCluster`` or on
any Dask cluster.
"""
