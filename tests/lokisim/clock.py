"""Fixed instants for tests that drive the simulator with a frozen clock.

Whole seconds, so matrix timestamps print as integers and expectations stay readable.
"""

from __future__ import annotations

SECOND = 10**9
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE

T0 = 1_700_000_000 * SECOND  # 2023-11-14T22:13:20Z
NOW = T0 + HOUR  # the frozen "now" of the test fixtures
