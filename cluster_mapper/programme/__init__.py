"""Many districts at once: region tasks (``tasks``), run in this process or on Dask (``run``), JSON checkpoints (``checkpoints``), merged into one plan (``merge``)."""
