"""The platform: database, identity, errors on the wire, the page shell, the record of changes.

Capabilities build on it and never the other way round: nothing in ``platform`` imports a
capability, it discovers them through their ``manifest.py`` (see ``platform/capabilities.py``).
"""
