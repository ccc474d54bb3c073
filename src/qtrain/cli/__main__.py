"""``python -m qtrain.cli ...`` is the ``qtrain`` console script."""
from __future__ import annotations

from qtrain.cli import main

raise SystemExit(main())
