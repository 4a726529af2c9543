"""Launchers: where a suite's tasks run. ``local`` in this process, ``pool`` in N worker processes, ``slurm`` as a job array.

Each is a thin use of an existing engine (a plain loop, ``concurrent.futures``,
submitit); what makes them agree is in the tasks: every worker resolves the
run's config hash, holds the run's lock while training and merges its row into
the suite manifest under the manifest's lock.
"""
