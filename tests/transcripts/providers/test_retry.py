"""The retry policy: exponential backoff with full jitter, Retry-After, attempt and time caps."""

from transcripts.providers.retry import RetryPolicy


def test_backoff_is_bounded_by_exponential_ceiling():
    policy = RetryPolicy(base_delay=1.0, max_delay=10.0)
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (5, 10.0), (9, 10.0)]:
        delays = [policy.backoff(attempt, retry_after=None, jitter_key=f"k{i}") for i in range(50)]
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling / 2  # jitter spreads over the window


def test_jitter_is_reproducible_from_its_key():
    policy = RetryPolicy()
    assert policy.backoff(2, retry_after=None, jitter_key="7:42:2") == policy.backoff(
        2, retry_after=None, jitter_key="7:42:2"
    )


def test_retry_after_is_a_floor():
    policy = RetryPolicy(base_delay=0.01, max_delay=0.02)
    assert policy.backoff(1, retry_after=5.0, jitter_key="x") == 5.0


def test_attempt_cap():
    policy = RetryPolicy(max_attempts=3)
    assert policy.decide(attempt=2, elapsed=0, retry_after=None, jitter_key="a") is not None
    assert policy.decide(attempt=3, elapsed=0, retry_after=None, jitter_key="a") is None


def test_time_cap_counts_the_coming_wait():
    policy = RetryPolicy(max_total_seconds=10)
    assert policy.decide(attempt=1, elapsed=9, retry_after=0.5, jitter_key="a") is not None
    assert policy.decide(attempt=1, elapsed=9, retry_after=5, jitter_key="a") is None


def test_round_trip_through_dict_ignores_unknown_keys():
    policy = RetryPolicy(max_attempts=7, lease_seconds=9)
    assert RetryPolicy.from_dict(policy.as_dict() | {"bogus": 1}) == policy
