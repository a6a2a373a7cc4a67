"""``python -m nmt``: the ``nmt`` command (see :mod:`nmt.cli`)."""

import sys

from nmt.cli import main

sys.exit(main())
