"""rfarm: render submission and render-farm tool.

Importing :mod:`rfarm` is cheap: the database, the queue, the renderers and the
CLI load only when they are used.
"""
from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
