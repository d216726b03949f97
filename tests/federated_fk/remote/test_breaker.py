"""The circuit breaker, on a clock the test moves."""

from federated_fk.remote.breaker import CircuitBreaker


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def test_opens_after_the_threshold_then_lets_one_call_try():
    clock = Clock()
    breaker = CircuitBreaker(threshold=2, cooldown=10, clock=clock)
    assert breaker.allow() == 0
    breaker.failed()
    assert breaker.allow() == 0  # one failure: still closed
    breaker.failed()
    assert breaker.allow() == 10  # open
    clock.now = 9.5
    assert breaker.allow() == 0.5
    clock.now = 10
    assert breaker.allow() == 0  # half open: this call tries
    assert breaker.allow() == 10  # and only this one
    breaker.failed()
    clock.now = 15
    assert breaker.allow() == 5  # failed again: open for another cooldown


def test_a_success_closes_it():
    clock = Clock()
    breaker = CircuitBreaker(threshold=1, cooldown=10, clock=clock)
    breaker.failed()
    clock.now = 10
    assert breaker.allow() == 0
    breaker.succeeded()
    assert breaker.allow() == 0 and breaker.failures == 0
