"""Polling a condition in tests that watch live servers, workers and downloads (medianest.testing's)."""

from medianest.testing.waiting import wait_for

__all__ = ["wait_for"]
