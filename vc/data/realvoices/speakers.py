"""Who is in the corpus, which Debian package holds their recordings, and how to list them.

Two kinds of source, as unpacked from the packages under DB_ROOT:

- Asterisk's voice prompts: raw G.722 (16 kHz) in usr/share/asterisk/sounds/<voice>/ and its
  subfolders (digits/, letters/, ...); no transcripts.
- Fish Fillets NG's dialogue: Ogg Vorbis (22.05 kHz) in
  usr/share/games/fillets-ng/sound/<level>/<lang>/<prefix>-<who>-<name>.ogg, where who is
  ``v`` (the big fish) or ``m`` (the small fish); the lines' texts are in
  usr/share/games/fillets-ng/script/<level>/dialogs_<lang>.lua (package fillets-ng-data).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Sequence

from vc.data.realvoices.fillets import parse_dialogs
from vc.errors import DataError

Kind = Literal["asterisk", "fillets"]
ASTERISK_DIR = Path("usr/share/asterisk/sounds")
FILLETS_DIR = Path("usr/share/games/fillets-ng")
# The fillets texts come from the game's main data package, whichever language is spoken.
FILLETS_SCRIPT_PACKAGE = "fillets-ng-data"


@dataclass(frozen=True)
class Source:
    """One speaker's recordings in one language, from one package."""

    kind: Kind
    package: str
    language: str  # as in the package: en_US, es_MX, ..., cs, nl
    folder: str  # asterisk: the voice folder; fillets: the language folder
    who: str = ""  # fillets only: the letter that marks this fish in file names

    @property
    def tag(self) -> str:
        """The short language code that keeps one speaker's utterance ids apart across languages."""
        return self.language.split("_")[0]

    @property
    def packages(self) -> tuple[str, ...]:
        return (self.package, FILLETS_SCRIPT_PACKAGE) if self.kind == "fillets" else (self.package,)

    def root(self, db_root: Path) -> Path:
        if self.kind == "asterisk":
            return db_root / ASTERISK_DIR / self.folder
        return db_root / FILLETS_DIR / "sound"


@dataclass(frozen=True)
class Speaker:
    id: str
    gender: Literal["m", "f"]
    sources: tuple[Source, ...]
    about: str

    @property
    def packages(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(p for source in self.sources for p in source.packages))


def _asterisk(lang: str, voice: str) -> Source:
    return Source("asterisk", f"asterisk-core-sounds-{lang.split('_')[0]}-g722", lang, f"{lang}_{voice}")


def _fillets(lang: str, who: str) -> Source:
    return Source("fillets", f"fillets-ng-data-{lang}", lang, lang, who)


SPEAKERS: tuple[Speaker, ...] = (
    Speaker("allison", "f", (_asterisk("en_US", "f_Allison"), _asterisk("es_MX", "f_Allison")),
            "Allison Smith, Asterisk's US English and Mexican Spanish prompts"),
    Speaker("june", "f", (_asterisk("fr_CA", "f_June"),), "June Wallack, Asterisk's Canadian French prompts"),
    Speaker("carlo", "m", (_asterisk("it_IT", "m_Carlo"),), "Carlo, Asterisk's Italian prompts"),
    Speaker("ivrvoice", "f", (_asterisk("ru_RU", "f_IvrvoiceRU"),), "Asterisk's Russian prompts (IvrvoiceRU)"),
    Speaker("cs_big", "m", (_fillets("cs", "v"),), "Fish Fillets NG's big fish, Czech dubbing"),
    Speaker("cs_small", "f", (_fillets("cs", "m"),), "Fish Fillets NG's small fish, Czech dubbing"),
    Speaker("nl_big", "m", (_fillets("nl", "v"),), "Fish Fillets NG's big fish, Dutch dubbing"),
    Speaker("nl_small", "f", (_fillets("nl", "m"),), "Fish Fillets NG's small fish, Dutch dubbing"),
)
_BY_ID = {s.id: s for s in SPEAKERS}


@dataclass(frozen=True)
class Recording:
    utt: str
    speaker: Speaker
    language: str
    source: Path  # the packaged file
    text: str | None  # the line said, where the package has it


def select_speakers(ids: Sequence[str] | None) -> list[Speaker]:
    """The named speakers (all of them when ``ids`` is None), in table order."""
    if ids is None:
        return list(SPEAKERS)
    unknown = [i for i in ids if i not in _BY_ID]
    if unknown:
        raise DataError(f"unknown speaker '{unknown[0]}' (known: {', '.join(_BY_ID)})")
    if not ids:
        raise DataError("no speakers given")
    return [s for s in SPEAKERS if s.id in ids]


def list_recordings(speaker: Speaker, db_root: Path) -> list[Recording]:
    """Every packaged recording of ``speaker`` under ``db_root``, with unique, sanitised ids."""
    found: list[tuple[str, Path, str, str | None]] = []  # (name, file, language, text)
    for source in speaker.sources:
        files = _source_files(source, db_root)
        if not files:
            raise DataError(
                f"{source.root(db_root)}: no recordings of {speaker.id} ({source.language}) found: "
                f"run with --fetch, or pass the --db-root where package {source.package} is unpacked"
            )
        if source.kind == "asterisk":
            root = source.root(db_root)
            found += [(f"{source.tag}_{f.relative_to(root).with_suffix('')}", f, source.language, None) for f in files]
        else:
            texts = _fillets_texts(files, source, db_root)
            found += [(f.stem, f, source.language, texts.get(f)) for f in files]
    ids = unique_ids([f"{speaker.id}_{name}" for name, _, _, _ in found])
    return [Recording(utt, speaker, lang, path, text) for utt, (_, path, lang, text) in zip(ids, found)]


def _source_files(source: Source, db_root: Path) -> list[Path]:
    root = source.root(db_root)
    if source.kind == "asterisk":
        return sorted(root.rglob("*.g722"))
    # <prefix>-<who>-<name>.ogg: the second field says who speaks (others: narrators, props).
    return [f for f in sorted(root.glob(f"*/{source.folder}/*.ogg")) if f.stem.split("-")[1:2] == [source.who]]


def _fillets_texts(files: list[Path], source: Source, db_root: Path) -> dict[Path, str]:
    """The line of each file whose dialog id (its name) is in its level's dialogs_<lang>.lua."""
    script = db_root / FILLETS_DIR / "script"
    if not script.is_dir():
        raise DataError(f"{script} not found: run with --fetch, or unpack package {FILLETS_SCRIPT_PACKAGE} there")
    texts: dict[Path, str] = {}
    by_level: dict[str, dict[str, str]] = {}
    for f in files:
        level = f.parent.parent.name
        if level not in by_level:
            lua = script / level / f"dialogs_{source.language}.lua"
            by_level[level] = parse_dialogs(lua.read_text(encoding="utf-8")) if lua.is_file() else {}
        if f.stem in by_level[level]:
            texts[f] = by_level[level][f.stem]
    return texts


def sanitize(name: str) -> str:
    """``name`` with accents dropped and anything but [A-Za-z0-9_-] turned into '_'."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9_-]", "_", ascii_name) or "_"


def unique_ids(names: Sequence[str]) -> list[str]:
    """Sanitised ``names``; where two become equal, the later ones get -2, -3, ..."""
    seen: set[str] = set()
    ids = []
    for name in names:
        base = candidate = sanitize(name)
        n = 1
        while candidate in seen:
            n += 1
            candidate = f"{base}-{n}"
        seen.add(candidate)
        ids.append(candidate)
    return ids
