"""``python -m minembed ...`` is the same as the ``minembed`` command."""
import sys

from .cli import main

sys.exit(main())
