"""The runtime and the Telegram channel.

The summary rollups follow every write made through a database session (listeners in
reports/rollups.py). Every entry point imports this package (the `oshbot` command, the bot, the
demo, the tests), so importing the listeners here means no write can happen before they exist.
"""

from importlib.metadata import PackageNotFoundError, version

import reports.rollups  # noqa: F401

try:
    __version__ = version("oshbot")
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"
