"""The web dashboard of ``rfarm serve``: server-rendered pages over the same seam as the API.

:mod:`~rfarm.service.web.dashboard` mounts it; :mod:`~rfarm.service.web.sessions`
keeps the login sessions and CSRF tokens; :mod:`~rfarm.service.web.pages` has
the pages and their actions, ``templates/`` and ``static/`` what they are drawn
with (no build step, nothing from outside the package).
"""
