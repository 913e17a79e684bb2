"""From key rates to key bits: probing measurements -> quantisation -> reconciliation -> privacy amplification.

Modules (one concern each): :mod:`~plkg.keygen.decorrelation` (KLT / CCA before quantising),
:mod:`~plkg.keygen.quantization` (equiprobable Gray-coded and mean-threshold quantisers, BDR),
:mod:`~plkg.keygen.reconciliation` (Cascade with exact disclosure count),
:mod:`~plkg.keygen.entropy` (SP 800-90B MCV min-entropy estimate),
:mod:`~plkg.keygen.privacy_amplification` (Toeplitz hashing), :mod:`~plkg.keygen.pipeline` (the
system-agnostic loop, with its settings :mod:`~plkg.keygen.config`, the training-round alignment
:mod:`~plkg.keygen.alignment`, the result types :mod:`~plkg.keygen.key_result` and the
security assumptions :mod:`~plkg.keygen.security_assumptions`), :mod:`~plkg.keygen.nearfield_keys` and :mod:`~plkg.keygen.ris_keys`
(system adaptors) and :mod:`~plkg.keygen.nist` (NIST SP 800-22 tests).
"""
