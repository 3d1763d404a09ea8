"""All writes of the coding app. Import from here: ``from coding.services import study_open``."""

from .errors import Conflict, ServiceError
from .events import event_record
from .rubrics import rubric_create_from_data, rubric_export, rubric_new_version

__all__ = [
    "Conflict",
    "ServiceError",
    "event_record",
    "rubric_create_from_data",
    "rubric_export",
    "rubric_new_version",
]
