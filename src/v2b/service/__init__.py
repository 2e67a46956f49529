"""``v2b serve``: the negotiation and the controller as a live web service (``docs/service.md``).

Optional extra: ``pip install -e '.[serve]'`` (FastAPI, uvicorn, SQLAlchemy, Alembic, psycopg).
"""
