"""The workspace's database schema under Alembic: :func:`upgrade` brings any database to the newest revision.

The server calls it on start (:class:`~cluster_mapper.workspace.db.Store`),
on SQLite and PostgreSQL alike. The revisions are in ``versions/`` (package
data, shipped in the wheel); ``0001`` is the schema the workspace made with
``create_all`` before it had migrations. A database made that way has the
workspace's tables but no ``alembic_version`` table: it is stamped ``0001``
(its rows left as they are) and upgraded from there. A database stamped with
a revision this version does not know was upgraded by a newer cluster_mapper:
:class:`DatabaseVersionError` says so and nothing is changed.
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import inspect
from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)
FOLDER = Path(__file__).parent
#: The revision of the schema the workspace made before it had migrations (``create_all``).
INITIAL = "0001"
#: The tables of revision ``0001``: a database with all of them and no ``alembic_version`` was made by ``create_all``.
INITIAL_TABLES = frozenset({"users", "projects", "plans", "edits", "proposals"})


class DatabaseVersionError(RuntimeError):
    """The database cannot be brought to this version's schema (made by a newer version, or partly made)."""


def alembic_config() -> Config:
    """Alembic's configuration for the workspace's revisions (no ini file needed)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(FOLDER))
    cfg.set_main_option("path_separator", "os")
    return cfg


def head() -> str:
    """The newest revision this version of cluster_mapper knows."""
    rev = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert rev is not None, "the workspace's migrations have a head"
    return rev


def current(engine: Engine) -> str | None:
    """The revision the database is at (``None``: not under Alembic)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine) -> str:
    """Bring the database to :func:`head` (stamping a database made by ``create_all`` first); the revision it is at.

    Raises
    ------
    DatabaseVersionError
        The database is at a revision this version does not know (upgraded
        by a newer cluster_mapper), or holds only some of the workspace's tables.
    """
    cfg = alembic_config()
    script = ScriptDirectory.from_config(cfg)
    with engine.begin() as conn:
        tables = set(inspect(conn).get_table_names())
        at = MigrationContext.configure(conn).get_current_revision()
        if at is not None and at not in {s.revision for s in script.walk_revisions()}:
            raise DatabaseVersionError(
                f"the database at {engine.url.render_as_string(hide_password=True)} is at schema revision {at}, which this version of "
                f"cluster_mapper does not know (its newest is {script.get_current_head()}): a newer cluster_mapper upgraded it. "
                "Install that version again, or give another --database."
            )
        cfg.attributes["connection"] = conn
        if at is None and tables & INITIAL_TABLES:
            missing = INITIAL_TABLES - tables
            if missing:
                raise DatabaseVersionError(
                    f"the database has some of the workspace's tables but not {', '.join(sorted(missing))}, and no schema revision: "
                    "it was not made by cluster_mapper. Give an empty database (or another --database)."
                )
            log.warning("the workspace's database was made before migrations; stamped as revision %s and upgraded", INITIAL)
            command.stamp(cfg, INITIAL)
        try:
            command.upgrade(cfg, "head")
        except CommandError as exc:  # pragma: no cover - a revision file missing from the install
            raise DatabaseVersionError(f"the workspace's database could not be upgraded: {exc}") from exc
        return MigrationContext.configure(conn).get_current_revision() or ""


__all__ = ["upgrade", "head", "current", "alembic_config", "DatabaseVersionError", "INITIAL", "INITIAL_TABLES", "FOLDER"]
