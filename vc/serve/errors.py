"""What a client gets when a request fails: an HTTP status, a stable code and one line.

The message is the library's own (vc.errors): it names what is wrong and where. A server
fault is logged with its traceback and the client gets only an id to quote.
"""

from __future__ import annotations

from vc.errors import AudioError, ConfigError, DataError, VCError


class RequestError(VCError):
    """A request the server refuses: ``status`` (HTTP), ``code`` (for programs), the message (for people)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code = status, code


class Busy(RequestError):
    """Every worker is busy and the queue is full: try again after ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: int = 1) -> None:
        super().__init__(503, "busy", message)
        self.retry_after = retry_after


# The library's errors, by what they say about the request.
_LIBRARY = ((AudioError, 422, "bad_audio"), (ConfigError, 400, "bad_request"), (DataError, 400, "bad_request"))


def classify(error: VCError) -> RequestError:
    """``error`` as the RequestError a client gets for it."""
    if isinstance(error, RequestError):
        return error
    for kind, status, code in _LIBRARY:
        if isinstance(error, kind):
            return RequestError(status, code, str(error))
    return RequestError(400, "bad_request", str(error))
