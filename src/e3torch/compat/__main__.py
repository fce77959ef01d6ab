"""``python -m e3torch.compat script.py [args]``: run a program that imports e3nn, on e3torch.

The import hook (:mod:`e3torch.compat.install`) is installed, then the program runs as ``python`` would run it:
``sys.argv`` is ``[script.py, args...]``, ``sys.path[0]`` is the script's folder and ``__name__ == "__main__"``.
``python -m e3torch.compat -m package.module [args]`` and ``python -m e3torch.compat -c "code" [args]`` work too.
"""

from __future__ import annotations

import os
import runpy
import sys

_USAGE = (
    "usage: python -m e3torch.compat script.py [args ...]\n"
    "       python -m e3torch.compat -m module [args ...]\n"
    "       python -m e3torch.compat -c code [args ...]\n"
    "Runs the program with `import e3nn` mapped to e3torch.compat."
)


def main(argv: list[str]) -> None:
    """Install the hook and run ``argv`` (a script, ``-m module`` or ``-c code``, then its arguments)."""
    if not argv or argv[0] in ("-h", "--help"):
        print(_USAGE, file=sys.stderr if not argv else sys.stdout)
        raise SystemExit(2 if not argv else 0)
    if argv[0] in ("-m", "-c") and len(argv) < 2:
        print(f"error: {argv[0]} needs an argument\n{_USAGE}", file=sys.stderr)
        raise SystemExit(2)

    if argv[0] not in ("-m", "-c") and not os.path.exists(argv[0]):
        print(f"error: can't open file {argv[0]!r}: no such file\n{_USAGE}", file=sys.stderr)
        raise SystemExit(2)

    import e3torch.compat.install  # noqa: F401

    if argv[0] == "-m":
        sys.argv = [argv[1], *argv[2:]]
        sys.path[0] = os.getcwd()
        runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
    elif argv[0] == "-c":
        sys.argv = ["-c", *argv[2:]]
        sys.path[0] = ""
        exec(compile(argv[1], "<string>", "exec"), {"__name__": "__main__", "__builtins__": __builtins__})
    else:
        script = argv[0]
        sys.argv = list(argv)
        sys.path[0] = os.path.dirname(os.path.abspath(script))
        runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main(sys.argv[1:])
