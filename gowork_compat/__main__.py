"""``python -m gowork_compat``: the ``gowork`` command."""

import sys

from .cli import main

sys.exit(main())
