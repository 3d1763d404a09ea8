from django.urls import path  # noqa: F401

# Reconciliation, locking, unblinding and export URLs (namespace "coding").
urlpatterns: list = []
