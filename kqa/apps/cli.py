"""The ``kqa`` command line: build and inspect packs, ask, score, serve.

Heavy libraries are imported inside each command, so ``kqa --help`` is instant. A user's mistake
(KqaError) prints one line saying what to do, with no stack trace.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kqa.kb.errors import KqaError


def _pack_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pack", type=Path, default=None,
                        help="pack folder (default: $KQA_PACK or $KQA_HOME/packs/factbook, KQA_HOME=~/.cache/kqa)")


def _pack_dir(args) -> Path:
    from kqa.apps.config import default_pack_dir

    return args.pack or default_pack_dir()


def cmd_build(args) -> int:
    from rich.console import Console

    from kqa.apps.report import print_manifest
    from kqa.kb.pack import build_factbook_pack

    console = Console()
    target = _pack_dir(args)
    with console.status("building the Factbook pack") as status:
        pack = build_factbook_pack(target, progress=lambda m: status.update(m))
    counts = pack.manifest["counts"]
    console.print(f"[green]built[/] {pack.path}: {counts['triples']:,} triples, {counts['passages']:,} passages, "
                  f"{counts['questions']:,} questions in {sum(pack.manifest['stage_seconds'].values()):.1f} s")
    if args.verbose:
        print_manifest(pack.manifest, console)
    return 0


def cmd_info(args) -> int:
    from rich.console import Console

    from kqa.apps.report import print_manifest
    from kqa.kb.pack import open_pack

    pack = open_pack(_pack_dir(args))
    if args.markdown:
        from kqa.apps.report import coverage_markdown

        print(coverage_markdown(pack.manifest))
        return 0
    print_manifest(pack.manifest, Console(), path=pack.path)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kqa", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("build", help="build the default Factbook knowledge pack")
    _pack_arg(p)
    p.add_argument("-v", "--verbose", action="store_true", help="print the manifest after building")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("info", help="show a pack's manifest: counts, build times, parse coverage")
    _pack_arg(p)
    p.add_argument("--markdown", action="store_true", help="print the parse coverage table as Markdown")
    p.set_defaults(func=cmd_info)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KqaError as err:
        print(f"kqa: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `kqa info | head`
        return 0
    except KeyboardInterrupt:
        print("kqa: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
