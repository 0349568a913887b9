"""Programmes of many districts: independent district plans as tasks, in-process or on Dask distributed (``run``)."""
