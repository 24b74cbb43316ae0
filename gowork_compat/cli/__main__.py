"""``python -m gowork_compat.cli``: the ``gowork`` command."""

import sys

from . import main

sys.exit(main())
