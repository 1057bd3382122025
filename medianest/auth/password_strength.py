"""Whether a new password is strong enough: zxcvbn's estimate, with zxcvbn's own advice as the message.

Length alone lets ``aaaaaaaaaaaa`` through; zxcvbn (Dropbox's estimator)
scores a password 0-4 by how many guesses it would take, knowing common
passwords, names, keyboard walks, repeats and dates, and the words of the
account itself (user name, display name).  Every place a password is chosen
asks here: the first start's setup link, an admin creating a local account,
an invitation, a password change and the command line.
"""

from __future__ import annotations

from collections.abc import Iterable

from medianest.api import ApiError

MIN_LENGTH = 12
MAX_LENGTH = 1024
# "Safely unguessable: moderate protection from offline slow-hash scenario" (zxcvbn's score 3).
MIN_SCORE = 3
# zxcvbn refuses to estimate more than 72 characters (its matching grows quickly with length);
# what follows them only adds strength, so the first 72 are judged.
ESTIMATED_PREFIX = 72


def password_problem(password: str, user_inputs: Iterable[str | None] = ()) -> str | None:
    """Why ``password`` can't be used, in words for the person choosing it, or ``None`` when it is fine."""
    if len(password) < MIN_LENGTH:
        return f"Choose a password of at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"Choose a password of at most {MAX_LENGTH} characters."
    # Imported here, not at start: zxcvbn's word lists take about 12 MiB in every process
    # (the memory budget of bench/household_budgets.py), and only choosing a password needs them.
    from zxcvbn import zxcvbn

    words = [w for w in user_inputs if w]
    estimate = zxcvbn(password[:ESTIMATED_PREFIX], user_inputs=words)
    if estimate["score"] >= MIN_SCORE:
        return None
    feedback = estimate.get("feedback") or {}
    advice = [feedback.get("warning") or "", *(feedback.get("suggestions") or [])]
    advice_text = " ".join(a.strip() for a in advice if a and a.strip())
    message = "This password is too easy to guess."
    if advice_text:
        message += " " + advice_text
    return message + " Try a few unrelated words, or let a password manager choose one."


def check_new_password(password: str, confirm: str | None = None, user_inputs: Iterable[str | None] = ()) -> None:
    """Raise ``WEAK_PASSWORD`` (or ``VALIDATION_ERROR`` when the two entries differ) for a password that won't do."""
    problem = password_problem(password, user_inputs)
    if problem:
        raise ApiError("WEAK_PASSWORD", problem, details={"fields": [{"field": "password", "message": problem}]})
    if confirm is not None and confirm != password:
        raise ApiError(
            "VALIDATION_ERROR",
            "The two passwords differ.",
            details={"fields": [{"field": "confirm", "message": "The two passwords differ."}]},
        )
