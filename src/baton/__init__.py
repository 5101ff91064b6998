"""Baton: an ELT warehouse for the marketing-to-sales handoff."""

__version__ = "0.1.0"
