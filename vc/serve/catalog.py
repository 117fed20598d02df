"""The models a server offers, what each can do, and a request's choice among them.

What a model can do is asked of the library once at startup rather than restated here:
whether it streams (a StreamingConverter is built once), whether it takes a reference
recording (Converter.reference on a second of buzz), which speakers it converts to by
name and whether it needs the source speaker (Converter.check).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vc.convert import Converter, Target
from vc.errors import ConfigError, VCError
from vc.serve.errors import RequestError
from vc.vocoders import VOCODERS
from vc.vocoders.streaming_phase import STREAM_VOCODERS


@dataclass
class ServedModel:
    name: str
    converter: Converter
    vocoders: dict[str, str]  # name a client gives -> what Converter.convert takes (gl, or an exp dir)
    targets: list[str]  # training speakers it converts to by name
    needs_source: bool
    one_shot: bool
    stream_error: str | None  # why it cannot stream; None when it can
    notes: list[str] = field(default_factory=list)  # why something is off, for the page

    @property
    def paired(self) -> bool:
        return self.converter.model.data_layout == "paired"

    @property
    def stream_vocoders(self) -> list[str]:
        return [] if self.stream_error else list(STREAM_VOCODERS)

    def source_for(self, source: str | None, target: Target) -> str | None:
        """The source speaker: as given, or for a paired model (A <-> B) the target's other half."""
        if source is None and self.paired and isinstance(target, str) and target in self.converter.speakers:
            a, b = self.converter.speakers
            return b if target == a else a
        return source

    def info(self) -> dict[str, Any]:
        conv = self.converter
        return {"name": self.name, "model": type(conv.model).__name__, "speakers": conv.speakers,
                "targets": self.targets, "sample_rate": conv.sample_rate, "vocoders": list(self.vocoders),
                "stream_vocoders": self.stream_vocoders, "streams": self.stream_error is None,
                "stream_error": self.stream_error, "one_shot": self.one_shot, "needs_source": self.needs_source,
                "paired": self.paired, "step": conv.step, "notes": self.notes}


def load_models(specs: list[str], vocoder_dirs: list[str], device: str = "cpu") -> dict[str, ServedModel]:
    """``specs``: experiment directories, each ``EXP`` (named after its directory) or ``NAME=EXP``;
    ``vocoder_dirs``: trained vocoders, offered with every model whose features they take."""
    paths: dict[str, str] = {}
    for spec in specs:  # names first: a clash is reported before minutes of loading
        name, _, path = spec.rpartition("=")
        name = name or Path(path).resolve().name
        if name in paths:
            raise ConfigError(f"--model {spec}: a model is already called {name!r}; name them: --model NAME=EXP")
        paths[name] = path
    if not paths:
        raise ConfigError("no model to serve: give --model EXP")
    return {name: describe(name, Converter.load(path, device=device), vocoder_dirs) for name, path in paths.items()}


def describe(name: str, conv: Converter, vocoder_dirs: list[str]) -> ServedModel:
    """What ``conv`` can do; builds (and so caches) each vocoder once, before any request."""
    speakers, rate, last = conv.speakers, conv.sample_rate, conv.speakers[-1]
    builtin = ["world"] if conv.feature_config.kind == "world" else [v for v in VOCODERS if v != "world"]

    def fails(src: str | None, tgt: Target, vocoder: str = builtin[0]) -> str | None:
        return _fails(lambda: conv.check(src, tgt, vocoder))

    # It needs the source if naming none fails where naming one passes.
    needs_source = bool(fails(None, last)) and not fails(speakers[0], last)
    model = ServedModel(name, conv, {}, [], needs_source, False, None)

    def source(tgt: Target) -> str | None:  # a source the probes can use
        return model.source_for(None, tgt) or (speakers[0] if needs_source else None)

    model.targets = [t for t in speakers if not fails(source(t), t)]
    try:
        reference: Target | None = conv.reference([(_voice(rate), rate, "probe")])
    except VCError as e:
        reference, one_shot_error = None, str(e)
    model.one_shot = reference is not None
    if not model.targets and reference is None:
        raise ConfigError(f"model {name}: converts to no speaker by name ({fails(source(last), last)}) and takes no "
                          f"reference recording ({one_shot_error})")
    tgt = model.targets[0] if model.targets else reference
    for vocoder in builtin + vocoder_dirs:
        error = fails(source(tgt), tgt, vocoder)
        if error is None:
            model.vocoders[Path(vocoder).name] = vocoder
        elif vocoder in vocoder_dirs:
            model.notes.append(f"vocoder {vocoder} left out: {error}")
    model.stream_error = _fails(lambda: _stream_probe(conv, source(tgt), tgt))
    return model


def _stream_probe(conv: Converter, src: str | None, tgt: Target) -> None:
    from vc.stream.converter import StreamingConverter

    StreamingConverter(conv, src, tgt)


def _fails(probe: Any) -> str | None:
    """The message of the VCError ``probe()`` raises, or None."""
    try:
        probe()
    except VCError as e:
        return str(e)
    return None


def _voice(rate: int) -> np.ndarray:
    """A second of a voiced buzz (120 Hz and its harmonics), for probes that need F0 (WORLD features)."""
    t = np.arange(rate) / rate
    return (0.1 * sum(np.sin(2 * np.pi * 120 * k * t) / k for k in range(1, 30))).astype(np.float32)


@dataclass(frozen=True)
class Choice:
    """One conversion a request asks for, checked: model, source, target and vocoder."""

    model: ServedModel
    source: str | None
    target: Target
    vocoder: str  # as Converter.convert takes it


def choose_model(models: dict[str, ServedModel], name: str | None) -> ServedModel:
    if name is None or name == "":
        if len(models) == 1:
            return next(iter(models.values()))
        raise RequestError(400, "unknown_model", f"say which model: this server has {', '.join(models)}")
    if name not in models:
        raise RequestError(400, "unknown_model", f"unknown model {name!r}: this server has {', '.join(models)}")
    return models[name]


def choose(model: ServedModel, target: str | None, reference: Target | None, source: str | None,
           vocoder: str | None, vocoders: dict[str, str] | list[str]) -> Choice:
    """Check a request's target, source and vocoder against ``model``; ``vocoders``: those allowed here."""
    if (target is None) == (reference is None):
        raise RequestError(400, "bad_request", "give either a target speaker or a reference, not "
                                               + ("both" if target is not None else "neither"))
    if target is not None and target not in model.targets:
        raise RequestError(400, "unknown_speaker", f"unknown target speaker {target!r}: model {model.name} converts "
                                                   f"to {', '.join(model.targets) or 'reference recordings only'}")
    if source is not None and source not in model.converter.speakers:
        raise RequestError(400, "unknown_speaker", f"unknown source speaker {source!r}: model {model.name} knows "
                                                   f"{', '.join(model.converter.speakers)}")
    names = list(vocoders)
    vocoder = vocoder or (names[0] if names else None)
    if vocoder not in names:
        raise RequestError(400, "unknown_vocoder", f"vocoder {vocoder!r} is not offered here for model {model.name}: "
                                                   f"{', '.join(names) or 'none'}")
    tgt: Target = target if target is not None else reference  # type: ignore[assignment]
    return Choice(model, model.source_for(source, tgt), tgt, model.vocoders.get(vocoder, vocoder))
