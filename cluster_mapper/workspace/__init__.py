"""The district team's workspace: ``cluster-mapper serve``, a local web app over the whole loop.

Projects (from the sample or uploaded files), plans as background jobs,
review on a map with edits kept per author, least-change re-plans as new
versions, diffs, downloads; one JSON API under ``/api/`` for the pages and
for scripts. :func:`~cluster_mapper.workspace.app.create_app` makes the app.
"""

from cluster_mapper.workspace.app import WorkspaceConfig, create_app, default_project_dir

__all__ = ["create_app", "WorkspaceConfig", "default_project_dir"]
