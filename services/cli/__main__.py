"""`python -m civicflow.services.cli` is `civicflow`."""

import sys

from civicflow.services.cli.service import main

sys.exit(main())
