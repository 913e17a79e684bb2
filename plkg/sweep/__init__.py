"""Parameter sweeps on Dask: ``plkg sweep SPEC.yaml --out results.parquet``.

* :mod:`plkg.sweep.spec`: parse and validate a YAML spec (all of it, before anything runs), expand
  it into tasks (plain dicts) with seeds derived from the spec and each task's parameters.
* :mod:`plkg.sweep.resources`: worker count and memory estimates checked against the machine.
* :mod:`plkg.sweep.tasks`: the task functions (one scenario design shared by every P_a and method;
  plain rows out, a failure becomes an error row).
* :mod:`plkg.sweep.engine`: Dask client set-up (embedded ``LocalCluster``, an existing scheduler,
  or ``dask_jobqueue.SLURMCluster``) and the session used by ``plkg reproduce``.
* :mod:`plkg.sweep.runner`: map a task function over tasks, serially or on a client.
* :mod:`plkg.sweep.table`: Parquet parts written atomically as tasks finish, each recorded with its
  SHA-256 and verified on resume; one writer per table (a lock); read back.

Dask is imported only when a cluster is used, so serial runs never pay for it.
"""
