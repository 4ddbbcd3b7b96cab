"""Config, rules and templates read into a setup the daemon can run, all checked together; used at start-up,
by `notifier check` and on reload (which must refuse what it cannot run, and keep what cannot change live).
"""

from __future__ import annotations

from pathlib import Path

import structlog

from notifier.config import Config, load_config
from notifier.engine.rules import RuleSet, load_rules
from notifier.render import Renderer
from notifier.sourcemap import SourceErrors

log = structlog.get_logger(__name__)
RESTART_ONLY = ("state",)  # settings a running daemon cannot switch; a reload keeps the old ones


def load_ruleset(config: Config) -> RuleSet:
    """The configured rules, or none at all when the config names no rules source."""
    if config.rules is None:
        return RuleSet(())
    return load_rules(config.rules, channels=config.channels.keys())


def check_all(config: Config) -> list[str]:
    """Every problem in rules and templates as `file:line: message` (config itself is already valid)."""
    problems: list[str] = []
    rule_names: frozenset[str] | None = None  # unknown while the rules do not load
    try:
        rule_names = load_ruleset(config).names
    except SourceErrors as exc:
        problems.extend(str(e) for e in exc.errors)
    problems.extend(Renderer(config.templates).check(rule_names))
    return problems


def keep_restart_only(config: Config, running: Config) -> Config:
    """`config` with the settings a running daemon cannot switch kept as they run (and a warning per change)."""
    kept: dict[str, object] = {
        k: getattr(running, k) for k in RESTART_ONLY if getattr(config, k) != getattr(running, k)
    }
    if config.poll.queue_size != running.poll.queue_size:
        kept["poll"] = config.poll.model_copy(update={"queue_size": running.poll.queue_size})
    if config.http.listen != running.http.listen:  # the server is bound; `public_url` only shapes messages
        kept["http"] = config.http.model_copy(update={"listen": running.http.listen})
    for key in kept:
        setting = {"poll": "poll.queue_size", "http": "http.listen"}.get(key, key)
        log.warning("this setting changes only on restart; keeping the running value", setting=setting)
    return config.model_copy(update=kept)


def load_for_reload(path: Path) -> tuple[Config, RuleSet] | None:
    """The new setup, or None after logging every problem (the running one then stays)."""
    try:
        config = load_config(path)
        rules = load_ruleset(config)
    except SourceErrors as exc:
        for error in exc.errors:
            log.error("reload failed, keeping the running configuration", error=str(error))
        return None
    problems = Renderer(config.templates).check()
    for problem in problems:
        log.error("reload failed, keeping the running configuration", error=problem)
    return None if problems else (config, rules)
