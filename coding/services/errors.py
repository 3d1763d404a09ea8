"""The service errors (defined with their HTTP mapping in ``alignweb.errors``)."""

from alignweb.errors import Conflict, Forbidden, ServiceError

__all__ = ["Conflict", "Forbidden", "ServiceError"]
