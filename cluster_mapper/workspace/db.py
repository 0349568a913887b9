"""The workspace's metadata: users, projects, plan versions, their edits and proposals (SQLAlchemy 2).

SQLite in the project folder by default; any SQLAlchemy URL (such as
``postgresql+psycopg://...``) with ``serve --database``. The schema is under
Alembic (:mod:`cluster_mapper.workspace.migrations`): a :class:`Store`
upgrades its database to the newest revision when it opens it, so a change
to a table here comes with a new revision in ``migrations/versions/``
(``tests/workspace/test_migrations.py`` fails until they agree). Plan files
live in the project folder (:mod:`cluster_mapper.workspace.projects`); the
database holds what points at them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, create_engine, event, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship, sessionmaker

from cluster_mapper.inputs.edits import EDIT_COLUMNS
from cluster_mapper.workspace.migrations import upgrade

#: Roles, from least to most allowed.
ROLES = ("viewer", "reviewer", "manager")
#: Plan statuses as the API reports them: waiting for a worker, planning, planned (and checked by the
#: validator), stopped by an error or by input problems, stopped by a manager before it finished, a
#: done version a manager set aside (kept, readable, never accepted or revised).
STATUSES = ("queued", "running", "done", "failed", "cancelled", "discarded")
#: Statuses of a version that is still to finish.
UNFINISHED = ("queued", "running")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


class Base(DeclarativeBase):
    """Base of the workspace's tables."""


class User(Base):
    """An account: name, argon2 password hash and role."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[dt.datetime] = mapped_column(default=_now)


class Project(Base):
    """A project: its name and input files (paths inside the project's folder)."""

    __tablename__ = "projects"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    folder: Mapped[str] = mapped_column(Text)
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by: Mapped[str] = mapped_column(String(80), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=_now)
    accepted_plan_id: Mapped[int | None] = mapped_column(default=None)
    plans: Mapped[list[PlanVersion]] = relationship(back_populates="project", order_by="PlanVersion.id")


class PlanVersion(Base):
    """One version of a project's plan: its parent, status, summary and validator result.

    ``closed_by``, ``closed_at`` and ``closed_note``: who cancelled or
    discarded the version, when, and why (revision ``0002``).
    """

    __tablename__ = "plans"
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("plans.id"), default=None)
    status: Mapped[str] = mapped_column(String(20), default="queued")
    folder: Mapped[str] = mapped_column(Text, default="")
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    valid: Mapped[bool | None] = mapped_column(default=None)
    violations: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    error: Mapped[str] = mapped_column(Text, default="")
    problems: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, default=None)
    created_by: Mapped[str] = mapped_column(String(80), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=_now)
    finished_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    seconds: Mapped[float | None] = mapped_column(default=None)
    closed_by: Mapped[str] = mapped_column(String(80), default="", server_default="")
    closed_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    closed_note: Mapped[str] = mapped_column(Text, default="", server_default="")
    project: Mapped[Project] = relationship(back_populates="plans")
    edits: Mapped[list[PlanEdit]] = relationship(back_populates="plan", order_by="PlanEdit.id")


class _EditColumns:
    """The columns of a row of the edits file, with who wrote it and when (edits of a version, proposals)."""

    action: Mapped[str] = mapped_column(String(40))
    school_id: Mapped[str] = mapped_column(String(120), default="")
    other_school_id: Mapped[str] = mapped_column(String(120), default="")
    cluster_id: Mapped[str] = mapped_column(String(120), default="")
    minutes: Mapped[str] = mapped_column(String(40), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str] = mapped_column(String(80), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=_now)


class PlanEdit(_EditColumns, Base):
    """An edit (a row of the edits file) made for a plan version, with its author."""

    __tablename__ = "edits"
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    plan: Mapped[PlanVersion] = relationship(back_populates="edits")


class Proposal(_EditColumns, Base):
    """An edit a reviewer proposes on a version; a manager re-plans with the open ones."""

    __tablename__ = "proposals"
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    used_in_plan_id: Mapped[int | None] = mapped_column(default=None)


#: The edits file's columns, as stored for each edit and proposal.
EDIT_FIELDS = tuple(EDIT_COLUMNS)


def reopen_proposals(s: Session, plan_id: int) -> int:
    """The proposals a plan version took, open again on its parent (the version failed, was cancelled or discarded); their number."""
    taken = list(s.scalars(select(Proposal).where(Proposal.used_in_plan_id == plan_id)))
    for q in taken:
        q.used_in_plan_id = None
    return len(taken)


def edit_row(e: PlanEdit | Proposal) -> dict[str, Any]:
    """An edit or proposal as a JSON row (the edits file's columns, author and time)."""
    row: dict[str, Any] = {f: getattr(e, f) for f in EDIT_FIELDS}
    row.update(id=e.id, author=e.author, created_at=e.created_at.isoformat())
    return row


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets a busy timeout and foreign keys on."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(conn, _record) -> None:
            cur = conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


class Store:
    """The database of one workspace: an engine and its sessions; opening it upgrades its schema to the newest revision."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.revision = upgrade(self.engine)
        self.session = sessionmaker(self.engine, expire_on_commit=False)

    def has_manager(self) -> bool:
        """Whether an administrator (a manager account) exists."""
        with self.session() as s:
            return s.scalar(select(User.id).where(User.role == "manager").limit(1)) is not None

    def has_users(self) -> bool:
        """Whether any account exists (then everyone signs in)."""
        with self.session() as s:
            return s.scalar(select(User.id).limit(1)) is not None

    def stopped_folders(self) -> list[str]:
        """Plan folders (relative to the workspace) of versions that failed or were cancelled: a worker may have left a half-written copy."""
        with self.session() as s:
            rows = s.scalars(select(PlanVersion.folder).where(PlanVersion.status.in_(("failed", "cancelled")), PlanVersion.folder != ""))
            return list(rows)

    def recover(self) -> int:
        """Mark plans left queued or running by a stopped server as failed (their proposals open again); their number."""
        with self.session() as s:
            stale = s.scalars(select(PlanVersion).where(PlanVersion.status.in_(("queued", "running")))).all()
            for p in stale:
                p.status = "failed"
                p.error = "the server stopped before this plan finished; start the plan again."
                reopen_proposals(s, p.id)
            s.commit()
            return len(stale)


__all__ = [
    "Base",
    "User",
    "Project",
    "PlanVersion",
    "PlanEdit",
    "Proposal",
    "Store",
    "ROLES",
    "STATUSES",
    "UNFINISHED",
    "EDIT_FIELDS",
    "edit_row",
    "reopen_proposals",
    "make_engine",
    "Session",
]
