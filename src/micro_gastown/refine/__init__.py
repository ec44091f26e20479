"""The Conditional Refiner's machinery: which findings, what context, how edits become a
checked diff, and how that diff is validated.

The model proposes structured edits (:class:`~micro_gastown.refine.model.Edit`); everything
after that is code: guardrails, applying the edits in a git worktree, writing the diff,
the static template/graph check, the build and test commands. The application layer
(:mod:`micro_gastown.app.refine`) strings these together.
"""
