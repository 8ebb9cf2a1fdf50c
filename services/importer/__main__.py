"""`python -m services.importer` (also `voc import`)."""

from __future__ import annotations

import sys

from services.importer.cli import main

if __name__ == "__main__":
    sys.exit(main())
