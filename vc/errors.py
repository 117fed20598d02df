"""Errors a user can fix. The CLI prints them as one line and exits non-zero."""


class VCError(Exception):
    """Base class: the message says what is wrong and where (file, line, key)."""


class AudioError(VCError):
    """An audio file or signal cannot be used (empty, truncated, NaN, silent, too short)."""


class ConfigError(VCError):
    """A configuration value is missing, unknown, of the wrong type or out of range."""


class DataError(VCError):
    """A Kaldi data dir or feature dump is malformed or inconsistent."""


class WriteError(VCError):
    """An output cannot be written: the disk is full, the directory read-only or not ours."""
