"""Assay: the compliance and trust platform of a digital-asset exchange.

Capabilities live in sub-packages (``access``, ``isms``, ``reserves``, ``trail``), each declared
by a ``manifest.py``; ``platform`` is what they all stand on. Importing this package does nothing
else.
"""

__version__ = "0.1.0"
