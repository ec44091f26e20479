"""LLM backends behind one small protocol (see :mod:`micro_gastown.llm.base`).

Nothing outside this package imports a vendor SDK: the Anthropic SDK lives in
``anthropic_backend``, Claude Code is a subprocess in ``claude_code``, and ``replay``
answers from recorded responses for the demo and tests.
"""
