"""``python -m cluster_mapper``: the same command line as ``cluster-mapper``."""

from cluster_mapper.cli import app

if __name__ == "__main__":
    app()
