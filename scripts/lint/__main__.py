"""`python -m scripts.lint`: the command line lives in scripts/lint/cli.py."""

import sys

from scripts.lint.cli import main

sys.exit(main())
