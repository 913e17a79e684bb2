"""The execution layer: run plain task functions serially, on a local Dask cluster or any cluster.

* :mod:`plkg.parallel.engine`: Dask client set-up (embedded ``LocalCluster``, an existing
  scheduler, or ``dask_jobqueue.SLURMCluster``) and the session used by ``plkg reproduce`` and
  dataset generation.
* :mod:`plkg.parallel.slurm`: the SLURM cluster's settings file, checked before anything runs.
* :mod:`plkg.parallel.runner`: map a task function over tasks, serially or on a client, with one
  BLAS/torch thread per task (the same numbers on 1 or N workers).
* :mod:`plkg.parallel.resources`: worker count and memory estimates checked against the machine.
* :mod:`plkg.parallel.torch_threads`: torch's intra-op threads limited for one block.

Used by :mod:`plkg.data`, :mod:`plkg.sweep` and :mod:`plkg.reproduce`; imports only the bottom
layer (:mod:`plkg.errors`, :mod:`plkg.machine`, :mod:`plkg.io`). Dask is imported only when a
cluster is used, so serial runs never pay for it.
"""
