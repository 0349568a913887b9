"""The workspace's pages (Jinja2, autoescaped): projects, versions, plan status, review map, diff."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter

router = APIRouter()
TEMPLATES = Path(__file__).parent / "templates"

__all__ = ["router"]
