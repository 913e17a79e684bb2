"""``python -m plkg``: the same command line as the ``plkg`` script."""

import sys

from plkg.cli import main

sys.exit(main())
