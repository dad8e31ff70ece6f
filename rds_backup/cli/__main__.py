"""``python -m rds_backup.cli``: the console script without its installed entry point."""

import sys

from rds_backup.cli import main

sys.exit(main())
