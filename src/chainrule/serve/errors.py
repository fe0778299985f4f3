"""The one kind of failure a handler raises: a status and one line for the client."""

from __future__ import annotations


class RequestError(Exception):
    """A request the server refuses: ``status`` and the one line sent as ``{"error": message}``."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status
