"""Database wiring: the PostgreSQL backend AlignWeb uses (see ``postgresql/base.py``)."""
