"""Add up the closing lines of the suites ``run_tests.sh`` ran, one log file each.

Prints one line per suite, then ``total: N passed, N failed, N skipped``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

COUNT = re.compile(r"(\d+) (passed|failed|skipped|errors?|xfailed|xpassed)\b")


def closing_counts(text: str) -> dict[str, int]:
    """Return the counts of the last line of ``text`` that has any."""
    for line in reversed(text.splitlines()):
        found = COUNT.findall(line)
        if found and "passed" in line:
            counts = {"passed": 0, "failed": 0, "skipped": 0}
            for number, word in found:
                kind = {"error": "failed", "errors": "failed", "xpassed": "failed"}.get(word, word)
                kind = "skipped" if kind == "xfailed" else kind
                counts[kind] += int(number)
            return counts
    raise SystemExit("a suite printed no closing line")


def main(paths: list[str]) -> int:
    total = {"passed": 0, "failed": 0, "skipped": 0}
    for path in paths:
        counts = closing_counts(Path(path).read_text(errors="replace"))
        name = Path(path).stem.split("-", 1)[1]
        print(
            f"  {name}: {counts['passed']} passed, {counts['failed']} failed, "
            f"{counts['skipped']} skipped"
        )
        for kind, number in counts.items():
            total[kind] += number
    print(f"total: {total['passed']} passed, {total['failed']} failed, {total['skipped']} skipped")
    return 1 if total["failed"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
