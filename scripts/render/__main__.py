"""`python -m scripts.render`: the command line lives in scripts/render/cli.py."""

import sys

from scripts.render.cli import main

sys.exit(main())
