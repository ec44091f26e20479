"""Evidence that leaves the machine: redacted, with hidden text stripped.

Log samples are untrusted (secrets, prompt injections). Everything quoted into a report, PR
body or prompt goes through `Redactor` (which also applies `neutralize_text`) first.
"""

from micro_gastown.evidence.redact import (
    REDACTED,
    TRUNCATED,
    Redactor,
    default_redactor,
    is_secret_key,
)
from micro_gastown.evidence.sanitize import neutralize_line, neutralize_text

__all__ = [
    "REDACTED",
    "TRUNCATED",
    "Redactor",
    "default_redactor",
    "is_secret_key",
    "neutralize_line",
    "neutralize_text",
]
