"""The revisions of the workspace's database, oldest first (Alembic loads them by path)."""
