"""Predictions made outside ltbench: an open file format, its checks, scoring and export (docs/leaderboard.md).

``format`` reads and writes the file, ``split`` says which test split it must
match (image ids, class order, digest), ``match`` checks one against the other,
``record`` scores an accepted file and keeps it as a run-like directory under
``<results>/submissions/``, ``export`` writes any run in the format.
"""
