"""`vc serve`: conversion over HTTP and WebSocket, and the page that uses it (docs/serve.md).

aiohttp (the ``serve`` extra) carries it; importing this package imports nothing heavy, so
the CLI can describe its options without it.
"""
