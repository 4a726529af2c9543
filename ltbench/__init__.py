"""ltbench: a benchmark suite for long-tailed multi-label image classification."""

__version__ = "0.1.0"
