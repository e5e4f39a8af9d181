#!/usr/bin/env python3
"""Thin shim so ``python tenantctl.py …`` works from a checkout; same as the installed script."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "platform"))

from storefront.cli import main  # the source root must be on sys.path first

if __name__ == "__main__":
    main()
