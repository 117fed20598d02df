"""Fish Fillets NG's dialogue scripts: which line each dialog id (a sound file's name) says.

A level's dialogs_<lang>.lua holds pairs such as::

    dialogId("bar-v-videt0", "font_big", "English text")
    dialogStr("the line in that language")
"""

from __future__ import annotations

import re

_STRING = r'"((?:[^"\\]|\\.)*)"'  # a Lua double-quoted string, escapes included
_DIALOG = re.compile(rf"dialogId\(\s*{_STRING}\s*,\s*{_STRING}\s*,\s*{_STRING}\s*\)\s*dialogStr\(\s*{_STRING}\s*\)")
_ESCAPE = re.compile(r"\\(.)", re.S)


def parse_dialogs(lua: str) -> dict[str, str]:
    """dialog id -> its line (dialogStr), unescaped and on one line."""
    return {_unescape(m[1]): _one_line(_unescape(m[4])) for m in _DIALOG.finditer(lua)}


def _unescape(text: str) -> str:
    # \n is a line break, \t a tab; any other escaped character (\" \\ \/ \') stands for itself.
    return _ESCAPE.sub(lambda m: {"n": "\n", "t": "\t"}.get(m[1], m[1]), text)


def _one_line(text: str) -> str:
    return " ".join(text.split())
