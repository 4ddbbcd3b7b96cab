"""Implementations of the sub-commands; `notifier.cli` only parses arguments and calls these."""
