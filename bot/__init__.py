"""The runtime and the Telegram channel."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("oshbot")
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"
