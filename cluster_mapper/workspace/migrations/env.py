"""Alembic's environment for the workspace's database (run by :func:`cluster_mapper.workspace.migrations.upgrade`).

The server hands its open connection in ``config.attributes["connection"]``;
a developer making a new revision runs Alembic's command line on a scratch
database instead (see ``alembic.ini`` next to this file), with the URL in
``CLUSTER_MAPPER_DATABASE``. The models of :mod:`cluster_mapper.workspace.db`
are the target of ``--autogenerate``.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import create_engine

from cluster_mapper.workspace.db import Base

config = context.config
target_metadata = Base.metadata


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    url = os.environ.get("CLUSTER_MAPPER_DATABASE") or config.get_main_option("sqlalchemy.url") or "sqlite:///workspace-dev.db"
    with create_engine(url).connect() as conn:
        _run(conn)
