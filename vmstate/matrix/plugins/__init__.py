"""The matrix plugins vmstate ships: ``nova`` and ``blueprint``."""
