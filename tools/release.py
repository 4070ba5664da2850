"""Independent releases of the infra packages: `python tools/release.py --help` (docs/releasing.md)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from releasing.cli import main

if __name__ == "__main__":
    sys.exit(main())
