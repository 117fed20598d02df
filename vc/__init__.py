"""vc: voice conversion on unpaired speech."""

__version__ = "0.1.0"
