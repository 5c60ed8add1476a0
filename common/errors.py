"""The errors a service raises when a caller breaks a rule.

    ServiceError                 base; its message is safe to show to the caller
    ├── InvalidArgument          malformed or out-of-range input
    ├── Unauthenticated          missing, forged, expired or revoked credentials
    ├── PermissionDenied         authenticated, but not allowed to do this
    ├── NotFound                 no such thing (or not visible to the caller)
    ├── AlreadyExists            a unique name or key is taken
    ├── FailedPrecondition       the thing is in the wrong state for this call
    ├── ResourceExhausted        a limit or rate was hit; retry later
    ├── Aborted                  the call lost a race or a stream fell behind; retry
    └── Unavailable              a service this call depends on is unreachable; retry

Domain code raises these and knows nothing of gRPC; common.grpc_errors turns them into status
codes in one place. Anything else that escapes a handler is a bug: it is logged and answered with
INTERNAL and a generic message, so internals never leak.
"""

from __future__ import annotations


class ServiceError(Exception):
    """Base of the errors whose message goes back to the caller."""

    def __init__(self, message: str, reason: str = "", retry_after: float = 0.0) -> None:
        super().__init__(message)
        self.message = message
        # A case within the status code that calls for something else from a client (cf.
        # google.rpc.ErrorInfo), e.g. "file_type_not_allowed"; sent as the parley-reason trailer.
        self.reason = reason
        # Seconds to wait before trying again (a throttle, a rate limit); sent as the
        # parley-retry-after-ms trailer, and by the gateway as Retry-After. 0: no advice.
        self.retry_after = retry_after


class InvalidArgument(ServiceError):
    """Malformed or out-of-range input."""


class Unauthenticated(ServiceError):
    """Missing, forged, expired or revoked credentials."""


class PermissionDenied(ServiceError):
    """The caller is known but not allowed to do this."""


class NotFound(ServiceError):
    """No such thing, or not visible to the caller."""


class AlreadyExists(ServiceError):
    """A unique name or key is taken."""


class FailedPrecondition(ServiceError):
    """The thing is in the wrong state for this call."""


class ResourceExhausted(ServiceError):
    """A limit or rate was hit; retry later."""


class Aborted(ServiceError):
    """The call lost a race or a stream fell behind; retry."""


class Unavailable(ServiceError):
    """A service this call depends on is unreachable; retry."""
