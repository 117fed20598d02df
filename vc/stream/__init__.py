"""Streaming conversion: audio in blocks, converted audio out with a fixed, bounded delay.

:class:`StreamingConverter` runs a causal model (conf/*_stream_quick.yaml) on a live
stream; vc.stream.io has the block sources and sinks `vc stream` reads and writes.
"""

from vc.stream.converter import StreamingConverter

__all__ = ["StreamingConverter"]
