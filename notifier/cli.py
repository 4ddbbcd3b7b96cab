"""The command line. Thin: parse arguments, load configuration, hand over to `app` or the simulator."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from notifier import __version__

DEFAULT_CONFIG = "notifier.yaml"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="notifier", description="Watch Dynamic Media Classic (Scene7) jobs and notify what matters."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = sub.add_parser("check", help="validate the configuration; print every problem as file:line: message")
    check.add_argument("--config", "-c", default=DEFAULT_CONFIG, type=Path)

    watch = sub.add_parser("watch", help="poll and print the events as JSON lines; send nothing")
    watch.add_argument("--config", "-c", default=DEFAULT_CONFIG, type=Path)

    simulate = sub.add_parser("simulate", help="serve a faithful fake IPS endpoint with evolving jobs")
    simulate.add_argument("--listen", default="127.0.0.1:8080", help="HOST:PORT (default %(default)s)")
    simulate.add_argument("--scenario", default="demo", help="scenario name (default %(default)s)")
    simulate.add_argument("--seed", type=int, default=0, help="random seed; same seed, same jobs")
    simulate.add_argument("--speed", type=float, default=1.0, help="simulated seconds per real second")
    simulate.add_argument("--companies", type=int, default=None, help="scale scenario: number of companies")
    simulate.add_argument("--jobs", type=int, default=None, help="scale scenario: active jobs per company")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "check":
            return cmd_check(args.config)
        if args.command == "watch":
            return cmd_watch(args.config)
        if args.command == "simulate":
            return cmd_simulate(args)
    except KeyboardInterrupt:
        return 130
    return 2


def _load(path: Path) -> object | None:
    """The validated config, or None after printing every problem as `file:line: message` on stderr."""
    from notifier.config import load_config
    from notifier.sourcemap import SourceErrors

    try:
        return load_config(path)
    except SourceErrors as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
        return None


def cmd_check(path: Path) -> int:
    config = _load(path)
    if config is None:
        return 1
    print(f"{path}: OK")
    return 0


def cmd_watch(path: Path) -> int:
    from notifier.app import install_stop_signals, watch
    from notifier.config import Config
    from notifier.logs import configure_logging

    config = _load(path)
    if not isinstance(config, Config):
        return 1
    configure_logging(config.log.format, config.log.level, secrets=secret_values(config))

    async def _main() -> None:
        stop = asyncio.Event()
        install_stop_signals(stop)
        await watch(config, sys.stdout, stop=stop)

    asyncio.run(_main())
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from notifier.ips.simulator.server import run_simulator
    from notifier.logs import configure_logging

    configure_logging("auto", "info")
    host, _, port = args.listen.rpartition(":")
    options = {k: v for k, v in (("companies", args.companies), ("jobs", args.jobs)) if v is not None}
    asyncio.run(
        run_simulator(host or "127.0.0.1", int(port), scenario=args.scenario, seed=args.seed, speed=args.speed, **options)
    )
    return 0


def secret_values(config: object) -> list[str]:
    """Every secret string in the configuration, for the log redactor."""
    from pydantic import BaseModel, SecretStr

    found: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, SecretStr):
            found.append(value.get_secret_value())
        elif isinstance(value, BaseModel):
            for name in type(value).model_fields:
                walk(getattr(value, name))
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                walk(item)

    walk(config)
    return found
