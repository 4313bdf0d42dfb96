"""Submitting from inside a DCC: the Blender add-on (:mod:`.blender`) and the Maya plug-in (:mod:`.maya`).

Both are thin layers over :mod:`.submitting`, plain functions that turn the panel's or
dialog's settings into the same request ``rfarm submit`` builds, and send it through the
same seam (:func:`rfarm.api.open_api`). :mod:`.install` writes them into the DCC's folders.
"""
