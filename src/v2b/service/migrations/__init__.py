"""Alembic migrations of the service's database, applied on start (``v2b.service.db.migrate``)."""
