"""The one family of domain errors. HTML views show them as form errors or messages; the API
answers 400 (ApplicationError) or 409 (ConflictError) with the common error shape."""


class ApplicationError(Exception):
    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ConflictError(ApplicationError):
    """The request was valid but lost to the current state (already accepted, last admin...)."""


class NotAllowed(ApplicationError):
    """The caller's role allows the action in general, but not on this object (someone else's
    note). The API answers 403."""
