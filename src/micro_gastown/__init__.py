"""micro-gastown: sleeptime evolution for ExoMonad agent graphs."""

__version__ = "0.1.0"
