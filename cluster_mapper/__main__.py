"""``python -m cluster_mapper``: the same command line as ``cluster-mapper``."""

from .cli import app

if __name__ == "__main__":
    app()
