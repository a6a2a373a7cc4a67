"""The ``nmt`` command line (:mod:`~nmt.cli.entry`), its I/O helpers and ``make demo``.

Nothing else in ``nmt`` imports this package.
"""

from nmt.cli.entry import main

__all__ = ["main"]
