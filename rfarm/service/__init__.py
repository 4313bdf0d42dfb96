"""``rfarm serve``: the farm's seam (:class:`rfarm.api.LocalFarm`) behind HTTP.

:func:`rfarm.service.app.create_app` builds the FastAPI application; the
routes under :mod:`rfarm.service.routes` only translate between HTTP and the
seam, which takes every access decision.
"""
