"""Lockstep recorders: the authors' training step beside ltbench's, from the same weights and batches."""
