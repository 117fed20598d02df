"""The package version, in a module of its own: what records it (checkpoints, configs, the
CLI) imports it from here, not from ``vc`` itself, so no import circle goes through ``vc``."""

__version__ = "0.1.0"
