"""Retry policy of the client: exponential backoff with full jitter on UNAVAILABLE."""

from __future__ import annotations

import dataclasses
import random

import grpc

__all__ = ["RetryConfig"]


@dataclasses.dataclass(frozen=True)
class RetryConfig:
    """How the client retries calls that failed with ``UNAVAILABLE``.

    Solves are idempotent, so a call that could not reach a server (connection refused,
    server restarting) is retried; no other status is.
    """

    max_attempts: int = 5
    """Attempts in all, the first included (1 disables retries)."""
    initial_backoff: float = 0.1
    """Upper bound of the first delay, in seconds."""
    max_backoff: float = 5.0
    """Upper bound of any delay, in seconds."""
    multiplier: float = 2.0
    """Growth of the delay bound per attempt."""
    retryable: tuple[grpc.StatusCode, ...] = (grpc.StatusCode.UNAVAILABLE,)
    """Status codes worth retrying."""

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"RetryConfig(): max_attempts must be >= 1, got {self.max_attempts}")
        if self.initial_backoff < 0 or self.max_backoff < 0 or self.multiplier < 1:
            raise ValueError("RetryConfig(): backoffs must be >= 0 and multiplier >= 1")

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based): full jitter."""
        bound = min(self.max_backoff, self.initial_backoff * self.multiplier ** (attempt - 1))
        return (rng or random).uniform(0.0, bound)

    def should_retry(self, code: grpc.StatusCode, attempt: int) -> bool:
        """Whether to try again after attempt ``attempt`` failed with ``code``."""
        return code in self.retryable and attempt < self.max_attempts
