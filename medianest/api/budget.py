"""Resetting every rate-limit count (tests, maintenance).

The shared JSON API budget itself is Flask-Limiter's application limit
(``medianest.extensions``): ``MEDIANEST_RATE_LIMIT_API`` per user, every
``/api/`` call but the webhook receivers, counted in Redis and in memory
while Redis is unreachable (Flask-Limiter's in-memory fallback).
"""

from __future__ import annotations

from flask import Flask

from medianest.extensions import limiter


def reset_all(app: Flask) -> None:
    """Every rate-limit count of ``app``: the per-route windows and the API budget."""
    with app.app_context():
        limiter.reset()
