"""`python -m scripts.publish`: the command line lives in scripts/publish/cli.py."""

import sys

from scripts.publish.cli import main

sys.exit(main())
