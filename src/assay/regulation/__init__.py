"""Regulation: the regulatory catalogue as data (jurisdictions, regimes, rules) and its loader."""
