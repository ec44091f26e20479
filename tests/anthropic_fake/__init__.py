"""anthropic_fake: a scripted Anthropic Messages API on 127.0.0.1, for recording cassettes.

There is no network in the test environment and no real key, so the cassettes under
``tests/data/cassettes/anthropic/`` are recorded from this fake. It follows the public API
(https://platform.claude.com/docs/en/api/messages): it checks requests the way the API
does (headers, required fields, tools, ``tool_choice``, cache breakpoints, ``tool_use`` /
``tool_result`` pairing) and answers with the API's message and error shapes, while a
per-test script says what "the model" replies. See ``server.FakeAnthropic``.
"""

from .api import tokens
from .replies import (
    ErrorReply,
    MessageReply,
    Reply,
    api_error,
    message,
    overloaded,
    refusal,
    text,
    tool_use,
)
from .server import DEFAULT_API_KEY, FakeAnthropic, ReceivedRequest

__all__ = [
    "DEFAULT_API_KEY",
    "ErrorReply",
    "FakeAnthropic",
    "MessageReply",
    "ReceivedRequest",
    "Reply",
    "api_error",
    "message",
    "overloaded",
    "refusal",
    "text",
    "tokens",
    "tool_use",
]
