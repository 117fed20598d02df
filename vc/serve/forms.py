"""multipart/form-data uploads, read part by part within a byte limit.

The limit is checked on the Content-Length header first (a refused upload is not even
read) and again while reading, for a client that sends none or lies.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePath

from aiohttp import BodyPartReader, web

from vc.serve.errors import RequestError

MAX_FIELD_BYTES = 1024  # a model name, a speaker, a reference id


@dataclass(frozen=True)
class Upload:
    name: str  # for messages: the client's file name, without its directories
    data: bytes


@dataclass
class Form:
    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, list[Upload]] = field(default_factory=dict)

    def text(self, key: str) -> str | None:
        return self.fields.get(key) or None

    def uploads(self, key: str, most: int) -> list[Upload]:
        found = self.files.get(key, [])
        if not found:
            raise RequestError(400, "bad_request", f"no audio: send the recording as the file field {key!r}")
        if len(found) > most:
            raise RequestError(400, "bad_request", f"{len(found)} files in field {key!r}: at most {most}")
        return found


async def read_form(request: web.Request, limit: int) -> Form:
    if request.content_length is not None and request.content_length > limit:
        raise _too_large(request.content_length, limit)
    form, total = Form(), 0
    if request.content_type == "application/x-www-form-urlencoded":  # fields only, no file
        form.fields = {k: v.strip() for k, v in (await request.post()).items() if isinstance(v, str)}
        return form
    if not request.content_type.startswith("multipart/"):
        raise RequestError(415, "not_multipart",
                           f"send multipart/form-data (curl -F), not {request.content_type or 'no body'}")
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader) or not part.name:
            raise RequestError(400, "bad_request", "every form part needs a name (nested multipart is not taken)")
        data = bytearray()
        while chunk := await part.read_chunk():
            total += len(chunk)
            if total > limit:
                raise _too_large(total, limit)
            data += chunk
        if part.filename is not None:
            name = PurePath(part.filename.replace("\\", "/")).name[:100] or "upload"
            form.files.setdefault(part.name, []).append(Upload(name, bytes(data)))
        elif len(data) > MAX_FIELD_BYTES:
            raise RequestError(400, "bad_request", f"form field {part.name!r}: {len(data)} bytes, more than a name")
        else:
            form.fields[part.name] = data.decode("utf-8", errors="replace").strip()
    return form


def _too_large(size: int, limit: int) -> RequestError:
    return RequestError(413, "too_large", f"the upload is {size / 2**20:.1f} MB, over this server's limit of "
                                          f"{limit / 2**20:g} MB")
