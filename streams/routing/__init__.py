"""Declarative routing: which agency and queue get a request."""
