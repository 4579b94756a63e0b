"""connectguard: checks Atlassian Connect apps against the Marketplace security requirements."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("connectguard")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0"
