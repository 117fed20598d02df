"""One-shot targets uploaded once (POST /api/reference) and named by an id in later requests.

Kept in memory, the oldest dropped past ``capacity``: a reference is a speaker vector (and
log-F0 statistics), a few hundred bytes, so thousands cost nothing; the bound only keeps a
client that uploads in a loop from growing the server. Only the event loop touches it.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict

from vc.convert import SpeakerReference
from vc.serve.errors import RequestError


class ReferenceStore:
    def __init__(self, capacity: int = 4096) -> None:
        self.capacity = capacity
        self._items: OrderedDict[str, tuple[str, SpeakerReference]] = OrderedDict()

    def add(self, model: str, reference: SpeakerReference) -> str:
        """A new id for ``reference``, made with ``model``'s speaker encoder."""
        key = secrets.token_urlsafe(12)
        self._items[key] = (model, reference)
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)
        return key

    def get(self, key: str, model: str) -> SpeakerReference:
        found = self._items.get(key)
        if found is None:
            raise RequestError(400, "unknown_reference", f"unknown reference {key!r} (expired or never made); "
                                                         "upload the recordings again: POST /api/reference")
        self._items.move_to_end(key)
        owner, reference = found
        if owner != model:
            raise RequestError(400, "unknown_reference", f"reference {key!r} was made with model {owner}, not {model}: "
                                                         "speaker vectors are model-specific")
        return reference
