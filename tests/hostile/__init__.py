"""The hostile-input and signal suites (issue 9): see each module's docstring."""
