"""``python -m ltbench`` (and ``torchrun -m ltbench``) is the ``ltbench`` command."""

import sys

from ltbench.cli import main

sys.exit(main())
