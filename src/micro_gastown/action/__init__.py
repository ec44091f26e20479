"""The GitHub Action's Python side: what a composite step says to the runner.

A face, like the CLI: it sits above the application layer and only translates between the
runner's protocol (workflow commands on stdout, the ``GITHUB_OUTPUT``/``GITHUB_ENV``/
``GITHUB_STEP_SUMMARY`` files) and the product.
"""
