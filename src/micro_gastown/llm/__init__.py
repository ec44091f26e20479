"""LLM backends behind one small protocol (see :mod:`micro_gastown.llm.base`).

Nothing outside this package imports a vendor SDK: the Anthropic SDK lives in
``anthropic_backend`` (its exceptions are translated in ``anthropic_errors``), Claude Code
is a subprocess in ``claude_code``, and ``replay`` answers from recorded responses for the
demo and tests. All three check structured output the same way (``output_schema``).
"""
