"""AlignWeb: blinded human dual-coding studies of model behaviour."""

from .celery import app as celery_app

__all__ = ["celery_app"]
