"""The command line of a generated reference (``docs/events.md``, ``docs/hooks.md``).

Print it, ``--write FILE`` it, or ``--check FILE``: exit 1 when the committed
file is not what the code declares (CI runs the check through the tests).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path


def reference_main(module: str, description: str, render: Callable[[], str], argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m {module}", description=description)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--write", metavar="FILE", type=Path, help="write the reference into FILE")
    group.add_argument("--check", metavar="FILE", type=Path, help="exit 1 when FILE differs from the reference")
    args = parser.parse_args(argv)
    text = render()
    if args.write:
        args.write.write_text(text, encoding="utf-8")
        print(f"wrote {args.write}")
    elif args.check:
        current = args.check.read_text(encoding="utf-8") if args.check.exists() else ""
        if current != text:
            print(f"{args.check} is stale: run python -m {module} --write {args.check}", file=sys.stderr)
            return 1
        print(f"{args.check} is up to date")
    else:
        sys.stdout.write(text)
    return 0
