"""A per-project circuit breaker: after repeated failures, fail fast for a while."""

from __future__ import annotations

import time
from collections.abc import Callable

#: What the breaker reads the time from: seconds, never going back.
Clock = Callable[[], float]


class CircuitBreaker:
    """After ``threshold`` failed calls in a row, refuse calls for ``cooldown`` seconds.

    Then one call is let through ("half open"): its success closes the
    circuit, its failure opens it again.

    :param clock: where the time comes from (``time.monotonic``); tests pass
        their own, so that they do not sleep through cooldowns
    """

    def __init__(self, threshold: int, cooldown: float, clock: Clock = time.monotonic) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self.clock = clock
        self.failures = 0
        self.open_until = 0.0
        self.trying = False

    def allow(self) -> float:
        """Return 0 if a call may go, else the seconds until the next try."""
        if self.failures < self.threshold:
            return 0.0
        now = self.clock()
        if now < self.open_until or self.trying:
            return max(self.open_until - now, 0.0) or self.cooldown
        self.trying = True  # half open: this call tries the remote again
        return 0.0

    def succeeded(self) -> None:
        """Record a call the remote answered."""
        self.failures, self.trying = 0, False

    def failed(self) -> None:
        """Record a call the remote did not answer."""
        self.failures += 1
        self.trying = False
        if self.failures >= self.threshold:
            self.open_until = self.clock() + self.cooldown
