"""A local run of the composite action: ``action.yml``'s steps run the way the Actions
runner runs them (see :mod:`actionrun.harness`)."""

from actionrun.harness import ActionRun, HarnessError, Install, StepRun, run_action

__all__ = ["ActionRun", "HarnessError", "Install", "StepRun", "run_action"]
