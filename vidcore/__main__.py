"""``python -m vidcore`` runs the command line."""

import sys

from vidcore.cli import main

sys.exit(main())
