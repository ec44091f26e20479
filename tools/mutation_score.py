"""Per-module mutation score of the last ``mutmut run`` (``make mutate``; README: Mutation testing).

Reads the verdicts from ``mutmut results --all true`` and prints, per mutated module, how many
mutants the tests killed out of all of them. A timeout counts as killed: the mutant made the
tests hang, which a test run notices. Every other mutant counts against the score, including
the equivalent ones listed in ``tools/mutation_equivalents.txt`` (mutants that change no
behaviour, so no test can kill them; each is listed with the reason).

Exits 1 when a module scores under ``--minimum`` percent, or when a mutant survived that the
list does not explain: a test should kill it, or the list should say why none can.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

EQUIVALENTS = Path(__file__).with_name("mutation_equivalents.txt")
KILLED = frozenset({"killed", "timeout"})


def verdicts(mutmut: str) -> dict[str, str]:
    """Mutant name → status, as ``mutmut results`` reports them."""
    listing = subprocess.run(
        [mutmut, "results", "--all", "true"], capture_output=True, text=True, check=True
    ).stdout
    found = {}
    for line in listing.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep:
            found[name] = status
    return found


def equivalents(path: Path) -> dict[str, str]:
    """Mutant name → why no test can kill it (``name  # reason`` lines)."""
    listed = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        name, _, reason = line.partition("#")
        if name.strip():
            listed[name.strip()] = reason.strip()
    return listed


def module_of(mutant: str) -> str:
    """``micro_gastown.detectors.stats.xǁTopSamplesǁ_keep__mutmut_7`` → ``detectors.stats``."""
    dotted = mutant.split(".x", 1)[0]
    return dotted.removeprefix("micro_gastown.")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mutmut", default=str(Path(sys.executable).with_name("mutmut")))
    parser.add_argument("--minimum", type=float, default=90.0, help="lowest score per module")
    args = parser.parse_args()

    found = verdicts(args.mutmut)
    if not found:
        print("no mutmut results: run `mutmut run` first", file=sys.stderr)
        return 1
    explained = equivalents(EQUIVALENTS)
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    unexplained = []
    for name, status in sorted(found.items()):
        tally = counts[module_of(name)]
        tally["total"] += 1
        if status in KILLED:
            tally["killed"] += 1
        elif name in explained and status == "survived":
            tally["equivalent"] += 1
        else:
            tally["other"] += 1
            unexplained.append(f"{name}: {status}")

    failed = False
    print(f"{'module':<28}{'killed':>8}{'total':>7}{'score':>8}{'equivalent':>12}{'other':>7}")
    for module, c in sorted(counts.items()):
        score = 100 * c["killed"] / c["total"]
        failed |= score < args.minimum
        print(
            f"{module:<28}{c['killed']:>8}{c['total']:>7}{score:>7.1f}%"
            f"{c['equivalent']:>12}{c['other']:>7}"
        )
    killed = sum(c["killed"] for c in counts.values())
    total = sum(c["total"] for c in counts.values())
    print(f"{'all':<28}{killed:>8}{total:>7}{100 * killed / total:>7.1f}%")

    stale = sorted(name for name in explained if found.get(name) != "survived")
    if stale:
        print("\nlisted as equivalent but not a survivor now (renumbered? update the list):")
        print("\n".join(f"  {name}" for name in stale))
    if unexplained:
        print("\nsurvivors no test kills and the list does not explain (`mutmut show NAME`):")
        print("\n".join(f"  {line}" for line in unexplained))
    if failed:
        print(f"\na module scores under {args.minimum:g}%", file=sys.stderr)
    return 1 if failed or unexplained else 0


if __name__ == "__main__":
    sys.exit(main())
