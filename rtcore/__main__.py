"""``python -m rtcore`` = the ``rtcore`` command."""
import sys

from .cli import main

sys.exit(main())
