"""Pecan controllers: thin; policy first, then one call below."""
