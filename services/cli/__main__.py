"""`python -m services.cli` is `civicflow`."""

import sys

from services.cli.service import main

sys.exit(main())
