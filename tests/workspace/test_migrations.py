"""The workspace's database under Alembic: empty databases upgraded to the models, old ones stamped and upgraded keeping every row.

An old database is the one the workspace made before migrations
(``Base.metadata.create_all`` at commit 1966648). On SQLite it is the real
thing: ``data/workspace_before_migrations.sql``, dumped from a database that
code made, with a user, a project, a done and a failed version, an edit and
an open proposal. On PostgreSQL it is made from :data:`LEGACY` (those five
tables as that code declared them), which is checked against the SQLite dump
first. PostgreSQL runs where ``CLUSTER_MAPPER_TEST_POSTGRES`` is set
(``.ci/run``); elsewhere those tests are skipped.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import sqlite3
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from fastapi.testclient import TestClient
from sqlalchemy import JSON, Boolean, Column, DateTime, Double, ForeignKey, Integer, MetaData, String, Table, Text, create_engine, insert, text

from cluster_mapper.workspace import WorkspaceConfig, create_app
from cluster_mapper.workspace.db import Base, PlanEdit, PlanVersion, Project, Proposal, Store, User
from cluster_mapper.workspace.migrations import INITIAL_TABLES, DatabaseVersionError, current, head, upgrade
from cluster_mapper.workspace.security import add_user
from tests.workspace.conftest import csrf

#: PostgreSQL tests share one database: with pytest-xdist they run in one worker, one after another.
pytestmark = pytest.mark.xdist_group("postgresql")


DUMP = Path(__file__).parent / "data" / "workspace_before_migrations.sql"
PG_URL = os.environ.get("CLUSTER_MAPPER_TEST_POSTGRES", "")
WHEN = dt.datetime(2026, 11, 30, 9, 0, 0)

#: The tables as the workspace declared them before migrations (commit 1966648), for PostgreSQL.
LEGACY = MetaData()
_EDIT_COLUMNS = ("action", 40), ("school_id", 120), ("other_school_id", 120), ("cluster_id", 120), ("minutes", 40)


def _edit_columns() -> list[Column]:
    cols = [Column(name, String(n), nullable=False) for name, n in _EDIT_COLUMNS]
    return cols + [Column("note", Text, nullable=False), Column("author", String(80), nullable=False), Column("created_at", DateTime, nullable=False)]


Table(
    "users",
    LEGACY,
    Column("id", Integer, primary_key=True),
    Column("username", String(80), nullable=False, unique=True),
    Column("password_hash", String(200), nullable=False),
    Column("role", String(20), nullable=False),
    Column("created_at", DateTime, nullable=False),
)
Table(
    "projects",
    LEGACY,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("folder", Text, nullable=False),
    Column("inputs", JSON, nullable=False),
    Column("created_by", String(80), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("accepted_plan_id", Integer),
)
Table(
    "plans",
    LEGACY,
    Column("id", Integer, primary_key=True),
    Column("project_id", Integer, ForeignKey("projects.id"), nullable=False),
    Column("parent_id", Integer, ForeignKey("plans.id")),
    Column("status", String(20), nullable=False),
    Column("folder", Text, nullable=False),
    Column("summary", JSON),
    Column("valid", Boolean),
    Column("violations", JSON),
    Column("error", Text, nullable=False),
    Column("problems", JSON),
    Column("created_by", String(80), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("finished_at", DateTime),
    Column("seconds", Double),
)
Table("edits", LEGACY, Column("id", Integer, primary_key=True), Column("plan_id", Integer, ForeignKey("plans.id"), nullable=False), *_edit_columns())
Table(
    "proposals",
    LEGACY,
    Column("id", Integer, primary_key=True),
    Column("plan_id", Integer, ForeignKey("plans.id"), nullable=False),
    Column("used_in_plan_id", Integer),
    *_edit_columns(),
)


def _legacy_rows(engine) -> None:
    """The rows of the SQLite dump, into a database made from :data:`LEGACY` (ids from the database, as the old code left them)."""
    t = LEGACY.tables
    with engine.begin() as c:
        c.execute(insert(t["users"]), [dict(username="mona", password_hash="$argon2id$legacy", role="manager", created_at=WHEN)])
        c.execute(
            insert(t["projects"]),
            [dict(name="Mansehra 2026", folder="projects/1", inputs={"schools": "projects/1/inputs/schools.csv"}, created_by="mona", created_at=WHEN)],
        )
        common = dict(project_id=1, created_by="mona", created_at=WHEN)
        c.execute(
            insert(t["plans"]),
            [
                dict(
                    **common,
                    parent_id=None,
                    status="done",
                    folder="projects/1/plans/1",
                    summary={"teachers_placed": 2431, "clusters": 214},
                    valid=True,
                    violations=[],
                    error="",
                    finished_at=WHEN,
                    seconds=12.5,
                ),
                dict(
                    **common,
                    parent_id=1,
                    status="failed",
                    folder="projects/1/plans/2",
                    summary=None,
                    valid=None,
                    violations=None,
                    error="1 problem(s) in the inputs or edits; nothing was planned.",
                    finished_at=None,
                    seconds=None,
                ),
            ],
        )
        edit = dict(action="apart", school_id="S1", other_school_id="S2", cluster_id="", minutes="", note="the bridge is down", author="rafi", created_at=WHEN)
        c.execute(insert(t["edits"]), [dict(plan_id=2, **edit)])
        proposal = dict(action="cannot_host", school_id="S3", other_school_id="", cluster_id="", minutes="", note="no room", author="rafi", created_at=WHEN)
        c.execute(insert(t["proposals"]), [dict(plan_id=1, used_in_plan_id=None, **proposal)])
        c.execute(text("UPDATE projects SET accepted_plan_id = 1"))


def _sqlite_from_dump(path: Path) -> str:
    con = sqlite3.connect(path)
    con.executescript(DUMP.read_text(encoding="utf-8"))
    con.close()
    return f"sqlite:///{path}"


def _models_match(store: Store) -> list:
    """Differences between the migrated database and the models (none wanted)."""
    with store.engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)


def _check_rows_kept(store: Store) -> None:
    """Every row of the old database is there, unchanged, with the new columns empty."""
    with store.session() as s:
        (user,) = s.query(User).all()
        assert (user.username, user.role) == ("mona", "manager")
        (project,) = s.query(Project).all()
        assert (project.name, project.inputs, project.accepted_plan_id) == ("Mansehra 2026", {"schools": "projects/1/inputs/schools.csv"}, 1)
        v1, v2 = s.query(PlanVersion).order_by(PlanVersion.id).all()
        assert (v1.status, v1.summary, v1.valid, v1.seconds, v1.created_at) == ("done", {"teachers_placed": 2431, "clusters": 214}, True, 12.5, WHEN)
        assert (v2.status, v2.parent_id, v2.error) == ("failed", 1, "1 problem(s) in the inputs or edits; nothing was planned.")
        assert [(v.closed_by, v.closed_at, v.closed_note) for v in (v1, v2)] == [("", None, "")] * 2
        (edit,) = s.query(PlanEdit).all()
        assert (edit.plan_id, edit.action, edit.school_id, edit.other_school_id, edit.note, edit.author) == (
            2,
            "apart",
            "S1",
            "S2",
            "the bridge is down",
            "rafi",
        )
        (proposal,) = s.query(Proposal).all()
        assert (proposal.plan_id, proposal.action, proposal.school_id, proposal.used_in_plan_id) == (1, "cannot_host", "S3", None)


def test_an_empty_sqlite_database_is_upgraded_to_the_models(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'new.db'}")
    assert store.revision == head() == current(store.engine) == "0002"
    assert _models_match(store) == []


def test_the_dump_is_what_the_legacy_tables_make(tmp_path):
    """The tables made on PostgreSQL for an old database are the ones the old code made (same SQL on SQLite)."""

    def schema(url: str) -> dict[str, str]:
        with create_engine(url).connect() as c:
            rows = c.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'table'")).all()
        return {name: re.sub(r"\s+", " ", sql) for name, sql in rows}

    legacy_url = f"sqlite:///{tmp_path / 'legacy.db'}"
    LEGACY.create_all(create_engine(legacy_url))
    assert schema(legacy_url) == schema(_sqlite_from_dump(tmp_path / "dump.db"))
    assert set(LEGACY.tables) == INITIAL_TABLES


def test_a_sqlite_database_made_before_migrations_is_stamped_and_upgraded_keeping_every_row(tmp_path, caplog):
    url = _sqlite_from_dump(tmp_path / "workspace.db")
    assert current(create_engine(url)) is None
    store = Store(url)
    assert store.revision == head()
    assert "made before migrations; stamped as revision 0001" in caplog.text
    _check_rows_kept(store)
    assert _models_match(store) == []
    # opened again: nothing to do, nothing changed
    assert Store(url).revision == head()
    _check_rows_kept(store)


def test_the_server_opens_an_old_database_and_shows_its_project(tmp_path):
    _sqlite_from_dump(tmp_path / "workspace.db")
    app = create_app(WorkspaceConfig(project_dir=tmp_path, jobs="thread"))
    assert current(create_engine(f"sqlite:///{tmp_path / 'workspace.db'}")) == head()
    assert add_user(app.state.store, "vera", "correct horse battery", "viewer") == []
    with TestClient(app) as c:
        r = c.post("/api/login", json={"username": "vera", "password": "correct horse battery"}, headers=csrf(c))
        assert r.status_code == 200, r.text
        project = c.get("/api/projects/1").json()
        assert project["name"] == "Mansehra 2026" and project["accepted_plan_id"] == 1
        assert [(p["id"], p["status"], p["parent_id"]) for p in project["plans"]] == [(1, "done", None), (2, "failed", 1)]


def test_a_database_from_a_newer_version_is_refused_and_left_alone(tmp_path):
    url = f"sqlite:///{tmp_path / 'newer.db'}"
    Store(url)
    engine = create_engine(url)
    with engine.begin() as c:
        c.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    with pytest.raises(DatabaseVersionError, match="revision 0099, which this version of cluster_mapper does not know.*Install that version again"):
        upgrade(engine)
    assert current(engine) == "0099"


def test_a_database_with_only_some_workspace_tables_is_refused(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'odd.db'}")
    LEGACY.tables["users"].create(engine)
    with pytest.raises(DatabaseVersionError, match="not edits, plans, projects, proposals"):
        upgrade(engine)


# ---------------------------------------------------------------- PostgreSQL


@pytest.fixture()
def pg_engine():
    if not PG_URL:
        pytest.skip("no PostgreSQL (set CLUSTER_MAPPER_TEST_POSTGRES; .ci/run starts one)")
    pytest.importorskip("psycopg")
    engine = create_engine(PG_URL)
    try:
        engine.connect().close()
    except Exception as exc:  # the server is not there: skip, as the issue asks
        pytest.skip(f"PostgreSQL at {PG_URL} cannot be reached: {exc}")
    _drop_everything(engine)
    yield engine
    _drop_everything(engine)
    engine.dispose()


def _drop_everything(engine) -> None:
    everything = MetaData()
    everything.reflect(engine)
    everything.drop_all(engine)


def test_an_empty_postgresql_database_is_upgraded_to_the_models(pg_engine):
    store = Store(PG_URL)
    assert store.engine.dialect.name == "postgresql"
    assert store.revision == head()
    assert _models_match(store) == []
    store.engine.dispose()


def test_a_postgresql_database_made_before_migrations_is_stamped_and_upgraded_keeping_every_row(pg_engine):
    LEGACY.create_all(pg_engine)
    _legacy_rows(pg_engine)
    assert current(pg_engine) is None
    store = Store(PG_URL)
    assert store.revision == head()
    _check_rows_kept(store)
    assert _models_match(store) == []
    with store.session() as s:  # the sequences go on after the old rows
        s.add(User(username="vera", password_hash="x", role="viewer"))
        s.commit()
        assert s.query(User).filter_by(username="vera").one().id == 2
    store.engine.dispose()
