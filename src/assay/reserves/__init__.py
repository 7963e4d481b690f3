"""Reserves: proof of reserves that every customer and auditor can check, at exchange scale."""
