"""One experiment YAML -> model, loaders and trainer (what `vc train` runs).

```yaml
model: cyclegan_vc          # registry name
model_params: {...}         # typed by the model's Params dataclass
data:
  train: dump/train         # feature dumps (overridable on the command line)
  valid: dump/dev
  stats: dump/train/stats.npz
  speakers: [A, B]          # cyclegan_vc: source, target
  segment_frames: 64         # vocoders: frames per audio segment
train: {...}                # vc.train.config.TrainConfig
content_model: exp/phones   # optional: a trained phone_recognizer, the phonetic content path
```
The dump's feature config and the normalisation statistics travel inside every
checkpoint (``extra``), so a converter needs nothing but the experiment directory.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal, TypeVar

from vc.version import __version__
from vc.audio.stats import StatsStore
from vc.config import from_dict, load_yaml, to_dict
from vc.data.audio import AudioSegmentLoader
from vc.data.dump import FeatureDump
from vc.data.phones import phone_inventory
from vc.data.transcribed import TranscribedLoader, TranscribedUtterances
from vc.data.unpaired import MultiSpeakerLoader, PairedSpeakersLoader
from vc.errors import ConfigError
from vc.models import MODELS, build_model
from vc.train.checkpoint import seed_everything
from vc.train.config import TrainConfig
from vc.train.content_model import load_content_model
from vc.train.trainer import Trainer

C = TypeVar("C", bound="ConfigFile")


@dataclass
class DataConfig:
    train: str | None = None
    valid: str | None = None
    stats: str | None = None  # None: <train>/stats.npz
    speakers: list[str] = field(default_factory=list)
    segment_frames: int = 64  # vocoders: frames per training item, audio segment = frames x hop
    # None: per speaker for conversion models, global for vocoders (they serve every speaker)
    normalize: Literal["speaker", "global", "none"] | None = None
    short: Literal["skip", "wrap"] = "skip"


class ConfigFile:
    """What every experiment config (speech here, images in vc.image.experiment) does the same
    way: read a YAML file, parse a mapping, take command-line overrides of its data section."""

    train: TrainConfig
    data: Any

    @classmethod
    def parse(cls: type[C], raw: Any, where: str) -> C:
        """The config from a mapping: a YAML file's, or the one saved in config.yaml or a checkpoint
        (whose ``vc_version`` entry records the writer and is not a setting); its train section checked."""
        if not isinstance(raw, dict):
            raise ConfigError(f"{where}: expected an experiment config mapping, got {type(raw).__name__}")
        try:
            config = from_dict(cls, {k: v for k, v in raw.items() if k != "vc_version"})
            config.train.check()
        except ConfigError as e:
            raise ConfigError(f"{where}: {e}") from None
        return config

    @classmethod
    def from_mapping(cls: type[C], raw: Any, where: str) -> C:
        return cls.parse(raw, where)

    @classmethod
    def load(cls: type[C], path: str | Path) -> C:
        return cls.from_mapping(load_yaml(path), str(path))

    def with_data(self: C, **overrides: Any) -> C:
        """A copy whose data section takes the given non-None values (command-line overrides)."""
        changes = {k: v for k, v in overrides.items() if v is not None}
        return replace(self, data=replace(self.data, **changes))


@dataclass
class ExperimentConfig(ConfigFile):
    model: str
    train: TrainConfig
    model_params: dict[str, Any] = field(default_factory=dict)
    data: DataConfig = field(default_factory=DataConfig)
    content_model: str | None = None  # a trained phone_recognizer experiment (vc.models.content)

    @classmethod
    def from_mapping(cls, raw: Any, where: str) -> ExperimentConfig:
        config = cls.parse(raw, where)
        if config.model not in MODELS:
            raise ConfigError(f"{where}: model: unknown model {config.model!r} (available: {', '.join(sorted(MODELS))})")
        if MODELS[config.model].data_layout.startswith("image_"):
            raise ConfigError(f"{where}: model: {config.model} is an image model; train it with 'vc image train'")
        if config.data.normalize is None:
            default = "global" if MODELS[config.model].data_layout in ("audio", "transcribed") else "speaker"
            config = replace(config, data=replace(config.data, normalize=default))
        return config


def build_trainer(config: ExperimentConfig, exp_dir: str | Path, device: str = "auto") -> Trainer:
    """Open the dumps and statistics, build the model and loaders, and return the trainer."""
    data = config.data
    if not data.train:
        raise ConfigError("data.train: no training dump given (set it in the config or pass --train-dump)")
    train_dump = FeatureDump.open(data.train)
    stats = StatsStore.load(data.stats or Path(data.train) / "stats.npz")
    train_dump.config.require_same(stats.config, f"{data.stats or data.train}: statistics")
    model_params = dict(config.model_params)
    layout = MODELS[config.model].data_layout
    if layout in ("multi", "transcribed") and "num_speakers" not in model_params:
        # A many-to-many model (or the recogniser's speaker adversary) omitting num_speakers
        # gets one per speaker it will train on.
        model_params["num_speakers"] = len(data.speakers or set(train_dump.utt2spk.values()))
    if layout == "transcribed" and "phones" not in model_params:
        # Every phone of the training and validation sets: a dev phone the training set lacks
        # then costs an error in the phone error rate rather than the utterance.
        valid_phones = FeatureDump.open(data.valid).phones() if data.valid else {}
        model_params["phones"] = phone_inventory({**valid_phones, **train_dump.phones()})
    content = None
    if config.content_model:
        if "phonetic" not in {f.name for f in fields(MODELS[config.model].Params)}:
            raise ConfigError(f"content_model: model {config.model} has no phonetic content path")
        content = load_content_model(config.content_model)
        train_dump.config.require_same(content.feature_config, f"content_model: {config.content_model}")
        model_params["phonetic"] = content.params
    config = replace(config, model_params=model_params)
    seed_everything(config.train.seed)  # the initial weights, too, follow from the seed
    model = build_model(config.model, train_dump.config.dim, model_params)
    if content is not None:
        model.phonetic.load_recognizer(content.weights)
    model.check_feature_config(train_dump.config)
    train = _loader(model, config, train_dump, stats, seed=config.train.seed)
    valid = None
    if data.valid:
        valid_dump = FeatureDump.open(data.valid)
        train_dump.config.require_same(valid_dump.config, f"{data.valid}: validation dump")
        valid = _loader(model, config, valid_dump, stats, seed=config.train.seed + 1).fixed_batches(
            config.train.eval_batches)
    extra = {"feature_config": to_dict(train_dump.config), "speakers": list(train.speakers),
             "stats": {name: {"count": st.count, "sum": st.sum, "sumsq": st.sumsq} for name, st in stats.stats.items()}}
    experiment = {"vc_version": __version__, **to_dict(config)}
    return Trainer(model, config.train, exp_dir, train, valid, device=device, experiment_config=experiment, extra=extra,
                   description=model.describe(train_dump.config))


def _loader(model: Any, config: ExperimentConfig, dump: FeatureDump, stats: StatsStore, seed: int):
    data, train = config.data, config.train
    common = dict(segment_frames=data.segment_frames, batch_size=train.batch_size, seed=seed,
                  normalize=data.normalize, short=data.short, num_workers=train.num_workers)
    if model.data_layout == "audio":
        return AudioSegmentLoader(dump, stats, data.segment_frames, train.batch_size, seed,
                                  context_frames=model.context_frames, hop_length=model.hop_length,
                                  normalize=data.normalize, num_workers=train.num_workers)
    if model.data_layout == "transcribed":
        utterances = TranscribedUtterances(dump, stats, model.params.phones, data.segment_frames, data.normalize)
        return TranscribedLoader(utterances, train.batch_size, seed, train.num_workers)
    if model.data_layout == "paired":
        if len(data.speakers) != 2:
            raise ConfigError(f"data.speakers: {config.model} converts one pair; give [source, target], "
                              f"got {data.speakers or 'none'}")
        return PairedSpeakersLoader(dump, stats, data.speakers[0], data.speakers[1], **common)
    speakers = data.speakers or sorted(set(dump.utt2spk.values()))
    expected = getattr(model.params, "num_speakers", len(speakers))
    if expected != len(speakers):
        raise ConfigError(f"model_params.num_speakers: {expected}, but the data has {len(speakers)} speakers "
                          f"({', '.join(speakers)})")
    return MultiSpeakerLoader(dump, stats, speakers, references=getattr(model, "reference_segments", False),
                              **common)
