"""Allow ``python -m metanprom``."""

from metanprom.cli import main

raise SystemExit(main())
