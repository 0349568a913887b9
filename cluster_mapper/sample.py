"""Where the bundled Mansehra sample is: real files, found from any folder.

The sample (generated schools and rosters on real settlements, a generated
road network and two policies; see its README for what is real) lives in the
repository's ``data/schools/``, next to its README and attribution. A built
wheel carries the same files as package data, ``cluster_mapper/sample_data/``:
``pyproject.toml`` maps the package ``cluster_mapper.sample_data`` onto
``data/schools``. :func:`sample_paths` finds them through
:mod:`importlib.resources`, so it works

- from an installed wheel (``pip install .``), whatever the working folder;
- from a source checkout, installed editable (``pip install -e .``) or not,
  where the files are read in place from ``data/schools/``.

Example::

    from cluster_mapper.sample import sample_paths

    paths = sample_paths()
    paths["policy"]  # .../policy.toml, a real file on disk
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

#: The sample's files by key. ``network`` may also be shipped gzipped (``.graphml.gz``).
SAMPLE_FILES = {
    "schools": "mansehra_schools.csv",
    "teachers": "mansehra_teachers.csv",
    "network": "mansehra_roads.graphml",
    "policy": "policy.toml",
    "policy_mixed_levels": "policy_mixed_levels.toml",
    "facilitators": "mansehra_facilitators.csv",
}
#: Where the sample is inside an installed package, and inside a source checkout.
PACKAGE_DATA = "sample_data"
CHECKOUT_DIR = ("data", "schools")


def _sample_root() -> Traversable:
    """The sample folder as a resource: the package data, else the checkout's ``data/schools``."""
    package = resources.files("cluster_mapper")
    bundled = package / PACKAGE_DATA
    if bundled.is_dir():
        return bundled
    if isinstance(package, Path):
        checkout = package.parent.joinpath(*CHECKOUT_DIR)
        if checkout.is_dir():
            return checkout
    return bundled


@functools.lru_cache(maxsize=1)
def sample_dir() -> Path:
    """The folder holding the bundled sample, as a real folder on disk.

    Returns
    -------
    pathlib.Path
        ``.../cluster_mapper/sample_data`` in an installed wheel,
        ``<checkout>/data/schools`` in a source checkout. When the package
        is imported from a zip file, the sample is copied once into a
        temporary folder that is removed when the process exits.
    """
    root = _sample_root()
    if isinstance(root, Path):
        return root
    tmp = Path(tempfile.mkdtemp(prefix="cluster_mapper_sample_"))
    atexit.register(shutil.rmtree, tmp, ignore_errors=True)
    if root.is_dir():
        for item in root.iterdir():
            if item.is_file():
                (tmp / item.name).write_bytes(item.read_bytes())
    return tmp


def sample_paths() -> dict[str, Path]:
    """Real paths of the bundled sample's files, usable from any working folder.

    Returns
    -------
    dict of str to pathlib.Path
        ``schools``, ``teachers`` (CSV), ``network`` (GraphML, plain or
        gzipped, whichever is shipped), ``policy`` (``policy.toml``) and
        ``policy_mixed_levels`` (``policy_mixed_levels.toml``), all in
        :func:`sample_dir`. A path of a missing file is still returned, so the
        loaders report it with its name.
    """
    d = sample_dir()
    paths = {key: d / name for key, name in SAMPLE_FILES.items()}
    gz = paths["network"].with_suffix(".graphml.gz")
    if not paths["network"].exists() and gz.exists():
        paths["network"] = gz
    return paths


__all__ = ["SAMPLE_FILES", "sample_dir", "sample_paths"]
