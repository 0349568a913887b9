"""Revision 0002: who cancelled or discarded a plan version, when and why (``plans.closed_by``, ``closed_at``, ``closed_note``).

Existing versions get an empty ``closed_by`` and ``closed_note`` and no
``closed_at``; no row changes otherwise.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add the three columns to ``plans``."""
    with op.batch_alter_table("plans") as batch:
        batch.add_column(sa.Column("closed_by", sa.String(length=80), server_default="", nullable=False))
        batch.add_column(sa.Column("closed_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("closed_note", sa.Text(), server_default="", nullable=False))


def downgrade() -> None:
    """Drop the three columns."""
    with op.batch_alter_table("plans") as batch:
        batch.drop_column("closed_note")
        batch.drop_column("closed_at")
        batch.drop_column("closed_by")
