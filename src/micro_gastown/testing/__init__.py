"""Test support that ships with the package: synthetic exports with known answers.

The generator lives in :mod:`micro_gastown.testing.synthetic`. It is not imported here so
that ``python -m micro_gastown.testing.synthetic`` runs without a double-import warning.
"""
