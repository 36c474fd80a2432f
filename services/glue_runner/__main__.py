"""``PYTHONPATH=services python -m glue_runner --port P --home DIR``."""

import sys

from glue_runner.server import main

sys.exit(main())
