"""Layer 7: training the networks with Lightning and exporting checkpoints.

:mod:`~plkg.training.train` (KGLM-Net and the fairness FNN, by Levenberg-Marquardt as MATLAB
``trainlm``, :mod:`~plkg.training.levenberg_marquardt`, or a first-order optimiser) and
:mod:`~plkg.training.train_general` (the set allocator), each with its Lightning module and data
module. The exported checkpoints are read by :mod:`plkg.inference`, which never imports
Lightning.
"""
