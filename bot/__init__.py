"""The runtime and the Telegram channel.

The summary rollups follow every write made through a database session (listeners in
reports/rollups.py). Every entry point imports this package (the `oshbot` command, the bot, the
demo, the tests), so importing the listeners here means no write can happen before they exist.
"""

import reports.rollups  # noqa: F401
