"""GitHub: the pull request a finding becomes, and what may safely go into it.

Only this package talks to GitHub (the PR filer and the rollback watcher of later issues
live here); :mod:`micro_gastown.github.inert` turns untrusted text into Markdown that
GitHub shows as the text it is.
"""
