"""The command line. Thin: parse arguments, load configuration, hand over to `app` or `commands`."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable, Coroutine, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from notifier import __version__

if TYPE_CHECKING:
    from notifier.config import Config

DEFAULT_CONFIG = "notifier.yaml"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="notifier", description="Watch Dynamic Media Classic (Scene7) jobs and notify what matters."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def with_config(name: str, help_text: str) -> argparse.ArgumentParser:
        command = sub.add_parser(name, help=help_text)
        command.add_argument("--config", "-c", type=Path, help=f"config file (default: ./{DEFAULT_CONFIG})")
        return command

    # `notifier outbox list --config F` reads as naturally as `notifier outbox --config F list`: accept both.
    config_too = argparse.ArgumentParser(add_help=False)
    config_too.add_argument(
        "--config", "-c", default=argparse.SUPPRESS, type=Path, help=f"config file (default: ./{DEFAULT_CONFIG})"
    )

    with_config("run", "run the daemon: poll, evaluate rules, deliver notifications")
    with_config("check", "validate config, rules and templates; print every problem as file:line: message")
    with_config("watch", "poll and print the events as JSON lines; send nothing")

    test = sub.add_parser("test-rule", help="show which rules fire for recorded events; send nothing")
    test.add_argument("rules", type=Path, help="a rule file or a directory of rule files")
    source = test.add_mutually_exclusive_group(required=True)
    source.add_argument("--event", type=Path, help="a JSON file with one event (or a list)")
    source.add_argument("--replay", type=Path, help="JSON lines recorded with `notifier watch`")
    test.add_argument("--locale", help="render messages in this locale instead of the job's")
    test.add_argument("--all-locales", action="store_true", help="render messages in every shipped locale")
    test.add_argument("--templates", type=Path, help="a templates directory overriding the defaults")

    schema = sub.add_parser("schema", help="print a JSON Schema (for editor completion)")
    schema.add_argument("what", choices=["rules"])

    silence = with_config("silence", "hold back matching notifications for a while")
    silence_sub = silence.add_subparsers(dest="action", required=True)
    add = silence_sub.add_parser("add", parents=[config_too], help="add a silence")
    add.add_argument(
        "--match",
        action="append",
        default=[],
        help="label=value (rule, company, job, schedule, severity, status, channel); * globs",
    )
    add.add_argument("--for", dest="duration", default="2h", help="how long (default %(default)s)")
    add.add_argument("--comment", default="", help="why, for whoever reads the list later")
    listing = silence_sub.add_parser("list", parents=[config_too], help="list silences")
    listing.add_argument("--all", action="store_true", help="include expired silences")
    expire = silence_sub.add_parser("expire", parents=[config_too], help="end a silence now")
    expire.add_argument("id")

    outbox = with_config("outbox", "inspect and repair the outbox")
    outbox_sub = outbox.add_subparsers(dest="action", required=True)
    olist = outbox_sub.add_parser("list", parents=[config_too], help="list deliveries (default: dead letters)")
    states = ["dead", "pending", "waiting", "silenced", "delivered", "all"]  # waiting: for their group's digest
    olist.add_argument("--state", default="dead", choices=states)
    olist.add_argument("--limit", type=int, default=50)
    oretry = outbox_sub.add_parser("retry", parents=[config_too], help="queue a dead or silenced delivery again")
    which = oretry.add_mutually_exclusive_group(required=True)
    which.add_argument("id", type=int, nargs="?", help="the delivery's number in `outbox list`")
    which.add_argument("--channel", help="every dead delivery of this channel (after fixing its endpoint)")
    opurge = outbox_sub.add_parser("purge", parents=[config_too], help="delete deliveries in a state (default: dead)")
    opurge.add_argument("--state", default="dead", choices=["dead", "silenced", "delivered"])

    simulate = sub.add_parser("simulate", help="serve a faithful fake IPS endpoint with evolving jobs")
    simulate.add_argument("--listen", default="127.0.0.1:8080", help="HOST:PORT (default %(default)s)")
    simulate.add_argument("--scenario", default="demo", help="scenario name (default %(default)s)")
    simulate.add_argument("--seed", type=int, default=0, help="random seed; same seed, same jobs")
    simulate.add_argument("--speed", type=float, default=1.0, help="simulated seconds per real second")
    simulate.add_argument("--companies", type=int, default=None, help="scale and fleet scenarios: number of companies")
    simulate.add_argument("--jobs", type=int, default=None, help="scale and fleet scenarios: active jobs per company")

    demo = sub.add_parser("demo", help="simulator + daemon + local receivers + status page, no credentials")
    demo.add_argument("--port", type=int, default=9464, help="status page port (default %(default)s)")
    demo.add_argument("--speed", type=float, default=1.0, help="simulated seconds per real second")
    demo.add_argument("--json", action="store_true", help="print notifications as JSON (the webhook body)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _dispatch(args)
    except KeyboardInterrupt:
        return 130


def _dispatch(args: argparse.Namespace) -> int:
    command = args.command
    if command == "simulate":
        return cmd_simulate(args)
    if command == "demo":
        from notifier.commands.demo import busy_port_problem, demo

        problem = busy_port_problem(args.port) if args.speed > 0 else "--speed must be more than 0"
        if problem:
            print(f"error: {problem}", file=sys.stderr)
            return 1
        return _run_cleanly(lambda: demo(args.port, args.speed, as_json=args.json))
    if command == "test-rule":
        return cmd_test_rule(args)
    if command == "schema":
        from notifier.commands.rules import rules_schema

        print(json.dumps(rules_schema(), indent=2))
        return 0
    path = _config_path(args.config)
    if path is None:
        return 1
    if command == "check":
        return cmd_check(path)
    config = _load(path, verify_state=command == "run")
    if config is None:
        return 1
    if command in ("silence", "outbox"):
        return _run_cleanly(lambda: _admin(args, config))
    return cmd_daemon(config, watch_only=command == "watch")


def _config_path(given: Path | None) -> Path | None:
    """The config file to read: `--config`, else ./notifier.yaml, which must then exist (said plainly if not)."""
    if given is not None:
        return given
    path = Path(DEFAULT_CONFIG)
    if not path.exists():
        print(
            f"error: no --config given and there is no {DEFAULT_CONFIG} in {Path.cwd()}: "
            f"pass --config FILE (notifier reads ./{DEFAULT_CONFIG} by default)",
            file=sys.stderr,
        )
        return None
    return path


def _load(path: Path, *, verify_state: bool = False) -> Config | None:
    """The validated config, or None after printing every problem as `file:line: message` on stderr."""
    from notifier.config import load_config
    from notifier.sources.sourcemap import SourceErrors

    try:
        return load_config(path, verify_state=verify_state)
    except SourceErrors as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
        return None


def cmd_check(path: Path) -> int:
    from notifier.app.setup import check_files
    from notifier.config.load import config_warnings

    problems = check_files(path)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return 1
    for warning in config_warnings(path):  # valid, so not a failure; but the setting does nothing
        print(warning, file=sys.stderr)
    print(f"{path}: OK")
    return 0


def cmd_daemon(config: Config, *, watch_only: bool) -> int:
    from notifier.app.logs import configure_logging
    from notifier.app.run import install_reload_signal, install_stop_signals, run
    from notifier.app.setup import check_all
    from notifier.commands.watch import watch
    from notifier.safety.redact import secret_values

    configure_logging(config.log.format, config.log.level, secrets=secret_values(config))
    if not watch_only:
        problems = check_all(config)
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            return 1

    async def _main() -> None:
        stop, reload = asyncio.Event(), asyncio.Event()
        install_stop_signals(stop)
        if watch_only:
            await watch(config, sys.stdout, stop=stop)
        else:
            install_reload_signal(reload)
            await run(config, stop=stop, reload=reload)

    return _run_cleanly(_main)


def _run_cleanly(main: Callable[[], Coroutine[Any, Any, int | None]]) -> int:
    """Run `main` (its exit code, 0 when it returns none); what an operator can fix (a port in use, a state file
    held by another daemon or damaged, an unusable path) ends with one line on stderr and exit 1 instead of a
    traceback."""
    from notifier.store.errors import StateInUse, StoreError

    try:
        return asyncio.run(main()) or 0
    except (StateInUse, StoreError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 1


def cmd_test_rule(args: argparse.Namespace) -> int:
    from notifier.commands.rules import read_events, resolve_locales, run_test_rule
    from notifier.sources.sourcemap import SourceErrors

    try:
        events = read_events(args.event, args.replay)
    except SourceErrors as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
        return 1
    locales = resolve_locales(args.locale, args.all_locales)
    return run_test_rule(args.rules, events, locales=locales, templates=args.templates)


async def _admin(args: argparse.Namespace, config: Config) -> int:
    from notifier.commands import admin
    from notifier.safety import learn

    learn(config)  # stored text predating the scrubber, or a receiver's echo, must not print a secret
    now = datetime.now(UTC)
    if args.command == "silence":
        if args.action == "add":
            return await admin.silence_add(config, args.match, args.duration, args.comment, now)
        if args.action == "list":
            return await admin.silence_list(config, now, include_expired=args.all)
        return await admin.silence_expire(config, args.id, now)
    if args.action == "list":
        return await admin.outbox_list(config, args.state, args.limit, now=now)
    if args.action == "retry":
        if args.channel is not None:
            return await admin.outbox_retry_channel(config, args.channel, now)
        return await admin.outbox_retry(config, args.id, now)
    return await admin.outbox_purge(config, args.state)


def cmd_simulate(args: argparse.Namespace) -> int:
    from notifier.app.logs import configure_logging
    from notifier.ips.simulator.scenarios import build_scenario
    from notifier.ips.simulator.server import run_simulator

    host, _, port = args.listen.rpartition(":")
    options = {k: v for k, v in (("companies", args.companies), ("jobs", args.jobs)) if v is not None}
    try:
        if not port.isdigit() or not 0 <= int(port) < 65536:
            raise ValueError(f"--listen must be HOST:PORT, not {args.listen!r}")
        if args.speed < 0:
            raise ValueError("--speed must be 0 (frozen) or more")
        build_scenario(args.scenario, **options)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    configure_logging("auto", "info")
    return _run_cleanly(
        lambda: run_simulator(
            host or "127.0.0.1", int(port), scenario=args.scenario, seed=args.seed, speed=args.speed, **options
        )
    )
