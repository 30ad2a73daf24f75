"""The ``vidcore`` command line: a thin router over library functions.

Each command lives in ``vidcore/commands/<name>.py`` as ``add_parser`` (builds its
argparse sub-parser) plus ``run(args)`` (calls the library, prints the result).
One error boundary here turns known errors into one line and exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from vidcore import settings
from vidcore.errors import VidcoreError
from vidcore.quiet_tf import quiet_tensorflow_startup

COMMANDS = ("demo-data", "info", "extract", "train", "evaluate", "predict", "stop", "runs",
            "doctor", "dataset", "export", "import", "inspect", "compare", "report", "queue")


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every command's sub-parser."""
    parser = argparse.ArgumentParser(prog="vidcore", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    parser.add_argument("--user", metavar="EMAIL",
                        help="act in this user's space (as the app does for them when "
                             "sign-in is on); default: the local space")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        module = importlib.import_module(f"vidcore.commands.{name.replace('-', '_')}")
        module.add_parser(sub).set_defaults(func=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; return the process exit status."""
    # TensorFlow's C++ start-up chatter would bury the one-line error a user needs to read.
    quiet_tensorflow_startup()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.raw_argv = argv  # what ``train --queue`` queues
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return _run(args)
    except VidcoreError as err:
        if settings.debug():
            raise
        print(f"vidcore: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("vidcore: interrupted", file=sys.stderr)
        return 130


def _run(args: argparse.Namespace) -> int:
    """The command, in ``--user``'s space when one is given."""
    if getattr(args, "queue", False):  # ``train --queue``: the queue command queues it
        args.func = importlib.import_module("vidcore.commands.queue").queue_training
    if not args.user:
        return args.func(args) or 0
    from vidcore import spaces

    with spaces.use(spaces.open_space(args.user)):
        return args.func(args) or 0


if __name__ == "__main__":
    sys.exit(main())
