"""A stand-in for the `claude` CLI (Claude Code), for the Claude Code backend's tests.

Tests install it as an executable named `claude` (see tests/integration/llm) and steer it
with environment variables, so it runs as a real subprocess with a real argv and stdin:

- FAKE_CLAUDE_SCENARIO: a JSON file, ``{"stdout": str | object, "stderr": str,
  "exit": int, "sleep": seconds, "spawn_sleeper": bool}``; an object ``stdout`` is printed
  as JSON. Missing keys print nothing and exit 0.
- FAKE_CLAUDE_LOG: where to write what it was given, ``{"argv": [...], "stdin": "...",
  "cwd": "...", "sleeper_pid": int}``, before it answers.

``spawn_sleeper`` starts a grandchild that sleeps holding stdout open, as a helper process
of the real CLI might: only killing the whole process group ends the run on a timeout.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time


def main() -> int:
    scenario_path = os.environ.get("FAKE_CLAUDE_SCENARIO")
    scenario = {}
    if scenario_path:
        with open(scenario_path, encoding="utf-8") as handle:
            scenario = json.load(handle)
    prompt = sys.stdin.read()
    seen = {"argv": sys.argv[1:], "stdin": prompt, "cwd": os.getcwd()}
    if scenario.get("spawn_sleeper"):
        sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
        seen["sleeper_pid"] = sleeper.pid
    log_path = os.environ.get("FAKE_CLAUDE_LOG")
    if log_path:
        with open(log_path, "w", encoding="utf-8") as handle:
            json.dump(seen, handle)
    time.sleep(float(scenario.get("sleep", 0)))
    stdout = scenario.get("stdout", "")
    sys.stdout.write(stdout if isinstance(stdout, str) else json.dumps(stdout))
    sys.stderr.write(scenario.get("stderr", ""))
    return int(scenario.get("exit", 0))


if __name__ == "__main__":
    sys.exit(main())
