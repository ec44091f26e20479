"""``python -m micro_gastown.action``: what ``action.yml``'s step runs (see :mod:`.main`)."""

from micro_gastown.action.main import main

raise SystemExit(main())
