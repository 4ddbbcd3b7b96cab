"""dmc-notifier: watches Dynamic Media Classic (Scene7) jobs and tells people and systems what matters."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("dmc-notifier")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"
