"""python -m kernelbench ... (same as the `kernelbench` command)."""
import sys

from .cli import main

sys.exit(main())
