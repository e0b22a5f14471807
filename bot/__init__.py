"""The runtime and the Telegram channel."""
