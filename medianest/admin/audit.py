"""The audit log moved to :mod:`medianest.audit`: sign-in writes it too."""

from medianest.audit import record, scrub

__all__ = ["record", "scrub"]
