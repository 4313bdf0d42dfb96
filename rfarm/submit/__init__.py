"""Submitting: the validated request, phase (a) on the artist's machine, phase (b) recording on the farm."""
