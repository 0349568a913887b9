"""The independent validator: its own travel engine (``travel``), every rule of a plan folder (``plan``) and of its support files (``support``). It shares file reading with the planner and nothing else."""

from cluster_mapper.validate.plan import ValidationReport, validate_plan

__all__ = ["ValidationReport", "validate_plan"]
