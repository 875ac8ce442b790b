"""`python -m scripts.verify`: the command line lives in scripts/verify/cli.py."""

import sys

from scripts.verify.cli import main

sys.exit(main())
