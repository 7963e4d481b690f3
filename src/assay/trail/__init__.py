"""The trail: a tamper-evident, append-only record of every change Assay stores.

One RFC 9162 Merkle log (``rfc9162``, ``tlog``), stored as C2SP tlog-tiles, with checkpoints signed
as C2SP signed notes (``note``, ``checkpoint``), fed by the platform's record function.
"""
