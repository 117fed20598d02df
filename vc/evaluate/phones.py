"""The phone error rate of a trained phone recogniser on a transcribed dump (`vc evaluate phones`)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from vc.errors import ConfigError
from vc.utils import atomic_write_text

SUMMARY = "summary.json"


@dataclass
class PhoneErrorResult:
    dump: str
    utterances: int
    phones: int  # in the references
    errors: int  # substitutions + insertions + deletions, summed over utterances
    checkpoint: str
    step: int
    examples: list[dict[str, str]] = field(default_factory=list)  # the first few, reference beside hypothesis

    @property
    def per(self) -> float:
        return self.errors / max(self.phones, 1)


def phone_error_rate(exp_dir: str | Path, dump_dir: str | Path, device: str = "auto",
                     examples: int = 3) -> PhoneErrorResult:
    """Greedy CTC decoding of every utterance of ``dump_dir`` against its phones."""
    from vc.data.dump import FeatureDump
    from vc.device import resolve_device
    from vc.models.phone_recognizer import PhoneRecognizer, edit_distance
    from vc.train.restore import load_trained

    trained = load_trained(exp_dir)
    model = trained.model
    if not isinstance(model, PhoneRecognizer):
        raise ConfigError(f"{exp_dir}: model {trained.config.model!r} is not a phone_recognizer")
    dump = FeatureDump.open(dump_dir)
    trained.feature_config.require_same(dump.config, f"{dump.root} against the recogniser of {exp_dir}")
    phones = dump.phones()
    target = resolve_device(device)
    model.to(target).eval()
    norm = trained.stats.global_ if trained.config.data.normalize == "global" else None
    result = PhoneErrorResult(str(dump_dir), 0, 0, 0, str(trained.checkpoint), trained.step)
    with torch.no_grad():
        for utt, feats in dump.items():
            x = norm.normalize(feats) if norm is not None else feats
            logits = model.net(torch.from_numpy(np.ascontiguousarray(x.T, dtype=np.float32))[None].to(target))
            hyp = model.decode(logits)[0]
            ref = model.phone_ids(phones[utt])
            result.utterances += 1
            result.phones += len(ref)
            result.errors += edit_distance(hyp, ref)
            if len(result.examples) < examples:
                result.examples.append({"utt": utt, "reference": " ".join(phones[utt]),
                                        "hypothesis": " ".join(model.phone_names(hyp))})
    return result


def write_summary(result: PhoneErrorResult, out: str | Path) -> Path:
    path = Path(out) / SUMMARY
    atomic_write_text(path, json.dumps({**asdict(result), "per": result.per}, indent=2) + "\n")
    return path


def format_result(result: PhoneErrorResult) -> str:
    return (f"phone error rate on {result.dump}: {100 * result.per:.1f}% ({result.errors} errors in "
            f"{result.phones} phones, {result.utterances} utterances; {result.checkpoint}, step {result.step})")
