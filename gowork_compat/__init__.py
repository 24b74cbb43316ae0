"""gowork-compat: speak gocraft/work's Redis protocol from Python."""

__version__ = "0.1.0"
