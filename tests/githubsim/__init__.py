"""A GitHub-compatible server on 127.0.0.1 for the PR filer's tests (see :mod:`.sim`)."""

from .contract import SPEC_MISSING, SPEC_PATH, Contract
from .faults import Fault, FaultKind
from .gitstore import Person
from .replies import Reply
from .sim import Exchange, GitHubSim
from .state import Account, AccountKind, Pull

__all__ = [
    "SPEC_MISSING",
    "SPEC_PATH",
    "Account",
    "AccountKind",
    "Contract",
    "Exchange",
    "Fault",
    "FaultKind",
    "GitHubSim",
    "Person",
    "Pull",
    "Reply",
]
