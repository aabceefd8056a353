"""Run the benchmarks: ``python -m bench`` prints a table of all of them; ``python -m bench NAME`` runs one
and prints its figures as a JSON object on the last line. Names: see ``NAMES``.

The data benchmark pins the process to one core while it times the rasterizer.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import os
import sys

NAMES = ("inference", "data", "teach", "training", "browser", "live", "export", "warm", "classroom", "scale",
         "neighbours")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("name", nargs="?", choices=NAMES, help="run only this benchmark")
    parser.add_argument("--data-dir", help="data root (default: $DOODLE_DATA_DIR)")
    arguments = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    selected = [arguments.name] if arguments.name else list(NAMES)
    results = {}
    for name in selected:
        module = importlib.import_module(f"bench.{name}")
        print(f"running {name}...", file=sys.stderr, flush=True)
        takes_data = "data_dir" in inspect.signature(module.run).parameters
        results[name] = module.run(**({"data_dir": arguments.data_dir} if takes_data else {}))
        if not arguments.name:
            for label, value in module.table(results[name]):
                print(f"{name:>10} | {label:<45} | {value}")
            sys.stdout.flush()
    if arguments.name:
        for label, value in importlib.import_module(f"bench.{arguments.name}").table(results[arguments.name]):
            print(f"{label:<45} | {value}")
        print(json.dumps(results[arguments.name]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
