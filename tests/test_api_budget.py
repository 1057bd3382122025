"""The shared API budget's leases against real Redis: strict across processes, exact in one, few round trips."""

from __future__ import annotations

import random
import threading
import time

import pytest

from medianest.api import budget as budget_module
from medianest.api.budget import Budget, parse_limit

pytestmark = [pytest.mark.sqlite_only, pytest.mark.settings(redis_url="use-test-redis")]


class CountedScript:
    """Stands in for a Budget's registered Lua script: counts the calls (each one Redis round trip)."""

    def __init__(self, budget: Budget, delay: float = 0.0) -> None:
        self.real = budget._redis_script()
        self.delay = delay
        self.calls = 0
        self.running = 0
        self.most_at_once = 0
        self._lock = threading.Lock()
        budget._script = self

    def __call__(self, *args, **kwargs):
        with self._lock:
            self.calls += 1
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        try:
            if self.delay:
                time.sleep(self.delay)  # the other callers run meanwhile, as greenlets do while one waits on Redis
            return self.real(*args, **kwargs)
        finally:
            with self._lock:
                self.running -= 1


def _budget(app) -> Budget:
    return Budget(app.config["MEDIANEST"].redis_url)


def _claimed_in_redis(app, who: str, limit) -> int:
    import redis

    value = redis.Redis.from_url(app.config["MEDIANEST"].redis_url).get(
        budget_module.KEY.format(who=who, window=limit.seconds)
    )
    return int(value or 0)


@pytest.mark.parametrize("order", ["alternating", "random-1", "random-2", "random-3"])
def test_two_processes_on_one_redis_admit_no_more_than_the_limit_together(app, order):
    limit = parse_limit("50/minute")
    first, second = _budget(app), _budget(app)  # two web processes sharing one Redis
    if order == "alternating":
        turns = [first, second] * 100
    else:
        rng = random.Random(order)
        turns = [rng.choice([first, second]) for _ in range(200)]
    with app.app_context():
        answers = [(process, *process.hit("carol", limit)) for process in turns]
        assert _claimed_in_redis(app, "carol", limit) == 50  # Redis never grants past the limit
    admitted = [(process, count) for process, count, _left in answers if count <= limit.amount]
    assert len(admitted) == 50  # every hit claimed was spent, none past the limit
    for process in (first, second):
        mine = [count for p, count, _left in answers if p is process]
        refused_at = next(i for i, count in enumerate(mine) if count > limit.amount)
        assert all(count > limit.amount for count in mine[refused_at:])  # once refused, refused
        assert all(0 < count <= limit.amount for count in mine[:refused_at])
    assert all(0 < left <= 60 for _p, _count, left in answers)


@pytest.mark.parametrize("amount", [1, 4, 50, 100, 1000])
def test_one_process_admits_exactly_the_limit_and_counts_down_by_one(app, amount):
    limit = parse_limit(f"{amount}/minute")
    budget = _budget(app)
    with app.app_context():
        counts = [budget.hit("dave", limit)[0] for _ in range(amount + 3)]
    assert counts[:amount] == list(range(1, amount + 1))
    assert all(count > amount for count in counts[amount:])
    remaining = [max(0, amount - count) for count in counts[:amount]]  # as the X-RateLimit-Remaining header
    assert remaining == list(range(amount - 1, -1, -1))


def test_a_generous_budget_costs_few_redis_round_trips(app):
    limit = parse_limit("100000/minute")
    budget = _budget(app)
    with app.app_context():
        script = CountedScript(budget)
        counts = [budget.hit("erin", limit)[0] for _ in range(1000)]
        assert counts == list(range(1, 1001))
        assert script.calls <= 40, script.calls
        assert _claimed_in_redis(app, "erin", limit) >= 1000


def test_a_spent_budget_is_refused_without_redis_until_its_window_ends(app):
    limit = parse_limit("3/second")
    budget = _budget(app)
    with app.app_context():
        script = CountedScript(budget)
        assert [budget.hit("frank", limit)[0] for _ in range(3)] == [1, 2, 3]
        before = script.calls
        refused = [budget.hit("frank", limit) for _ in range(200)]
        assert all(count > 3 for count, _left in refused)
        assert script.calls == before  # hammering past the limit costs no round trip
        time.sleep(max(left for _count, left in refused) + 0.1)
        assert [budget.hit("frank", limit)[0] for _ in range(4)][:3] == [1, 2, 3]  # a new window
        assert script.calls > before


def test_threads_hitting_one_budget_at_once_admit_no_more_than_the_limit(app):
    limit = parse_limit("200/minute")
    budget = _budget(app)
    counts: list[int] = []
    with app.app_context():
        script = CountedScript(budget, delay=0.002)

        def caller() -> None:
            with app.app_context():
                for _ in range(60):
                    counts.append(budget.hit("gina", limit)[0])

        threads = [threading.Thread(target=caller) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert script.most_at_once > 1  # claims of one user did overlap
        admitted = sum(count <= limit.amount for count in counts)
        assert admitted <= limit.amount
        # What was still held when the threads stopped is spent by the next calls, then nothing more.
        later = [budget.hit("gina", limit)[0] for _ in range(100)]
        assert admitted + sum(count <= limit.amount for count in later) == limit.amount
        assert _claimed_in_redis(app, "gina", limit) == limit.amount


def test_two_claims_in_flight_for_one_user_are_merged_into_one_lease(app):
    """The first claim's answer comes back after the second's (as two greenlets' may): both grants are kept."""
    limit = parse_limit("1000/minute")
    budget = _budget(app)
    second_done = threading.Event()
    answers: dict[str, tuple[int, float]] = {}

    def slow_first(*args, **kwargs):
        reply = real(*args, **kwargs)
        if threading.current_thread().name == "first":
            assert second_done.wait(5)
        return reply

    def caller() -> None:
        with app.app_context():
            answers[threading.current_thread().name] = budget.hit("ivan", limit)

    with app.app_context():
        real = budget._redis_script()
        budget._script = slow_first
        first = threading.Thread(target=caller, name="first")
        first.start()
        while _claimed_in_redis(app, "ivan", limit) == 0:
            time.sleep(0.001)
        second = threading.Thread(target=caller, name="second")
        second.start()
        second.join()
        second_done.set()
        first.join()
        assert all(count <= limit.amount for count, _left in answers.values())
        lease = budget._leases[("ivan", limit.seconds)]
        assert lease.claimed == _claimed_in_redis(app, "ivan", limit) == lease.unspent + 2
        budget._script = real
        later = [budget.hit("ivan", limit)[0] for _ in range(limit.amount)]
    assert later[:-2] == list(range(3, limit.amount + 1))  # exact again once both answers are in
    assert all(count > limit.amount for count in later[-2:])


def test_reset_forgets_the_leases(app):
    limit = parse_limit("100000/minute")
    budget = _budget(app)
    with app.app_context():
        assert [budget.hit("hugo", limit)[0] for _ in range(3)] == [1, 2, 3]
        budget.reset()
        assert _claimed_in_redis(app, "hugo", limit) == 0
        assert budget.hit("hugo", limit)[0] == 1


def test_leases_of_ended_windows_are_dropped_when_the_table_grows(app, monkeypatch):
    monkeypatch.setattr(budget_module, "LEASE_TABLE_SIZE", 5)
    limit = parse_limit("3/second")
    budget = _budget(app)
    with app.app_context():
        lefts = [budget.hit(f"user-{i}", limit)[1] for i in range(5)]
        assert len(budget._leases) == 5
        time.sleep(max(lefts) + 0.1)
        budget.hit("latecomer", limit)
        assert list(budget._leases) == [("latecomer", 1)]


@pytest.mark.settings(redis_url="use-test-redis", rate_limit_api="40/minute")
def test_api_budget_headers_count_down_by_one_across_leases(app, user_client):
    remaining = [int(user_client.get("/api/v1/auth/session").headers["X-RateLimit-Remaining"]) for _ in range(40)]
    assert remaining == list(range(39, -1, -1))
    assert user_client.get("/api/v1/auth/session").status_code == 429
