"""Allow ``python -m micro_gastown``."""

from micro_gastown.cli import main

raise SystemExit(main())
