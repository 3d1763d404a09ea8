class ServiceError(Exception):
    """A rule was broken; the message is safe to show to the user."""


class Conflict(ServiceError):
    """Someone else changed the object first (optimistic locking); reload and retry."""
