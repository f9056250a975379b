"""`python -m rscctl` runs the CLI."""

import sys

from rscctl.cli import main

sys.exit(main())
