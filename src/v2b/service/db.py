"""The service's database: SQLite by default (WAL mode), PostgreSQL by URL; Alembic
migrations shipped in the package and applied on start."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from v2b.errors import UserError

#: The default database: a file in the working directory.
DEFAULT_DB = "sqlite:///v2b-service.sqlite"

MIGRATIONS = Path(__file__).parent / "migrations"


class DatabaseError(UserError):
    """A database URL that cannot be used, or a database that cannot be opened or migrated."""


def normalise_url(url: str) -> str:
    """``url`` with the driver the service uses: ``postgresql://`` becomes
    ``postgresql+psycopg://`` (psycopg 3); SQLite and explicit drivers are kept."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseError(f"--db {url!r} is not a database URL (e.g. sqlite:///v2b.sqlite, "
                            "postgresql://user:password@host/dbname)") from None
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise DatabaseError(f"--db {url!r}: backend {backend!r} is not supported; use sqlite or postgresql")
    if backend == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")  # a committed answer survives a power cut, too
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


class Database:
    """An engine and a session factory for ``url``; :meth:`migrate` brings the schema to head."""

    def __init__(self, url: str = DEFAULT_DB):
        self.url = normalise_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        kwargs: dict[str, Any] = {"future": True}
        if self.is_sqlite:
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 10}
        else:
            kwargs["pool_pre_ping"] = True
        try:
            self.engine: Engine = create_engine(self.url, **kwargs)
        except (ArgumentError, ImportError) as err:
            raise DatabaseError(f"--db {self.display_url}: {err}") from None
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def display_url(self) -> str:
        """The URL with its password hidden."""
        return make_url(self.url).render_as_string(hide_password=True)

    def migrate(self) -> None:
        """Create or upgrade the schema (Alembic ``upgrade head``)."""
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        try:
            with self.engine.begin() as connection:
                cfg.attributes["connection"] = connection
                command.upgrade(cfg, "head")
        except SQLAlchemyError as err:
            raise DatabaseError(f"--db {self.display_url}: cannot open or migrate the database: "
                                f"{err.__class__.__name__}: {str(err).splitlines()[0]}") from None

    def session(self) -> Session:
        return self.sessions()

    def dispose(self) -> None:
        self.engine.dispose()
