"""WSGI entry points for external servers."""
