"""Conversion models on a live stream (vc.nn.streaming): each model's ``frame_stream`` fed any
split of the frames gives its offline conversion, outputs never see past the lookahead, and
configs that cannot stream are one-line errors.

Disentangle (model_params.causal): stream == convert_to for lookup and reference targets,
causality, the config checks and frame_stream's refusal of models that cannot stream.
CumulativeNorm: instance norm over the frames so far, streamed with carried sums.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
import torch
from torch import nn

from vc.errors import ConfigError
from vc.models import build_model
from vc.models.disentangle import Disentangle
from vc.nn.layers import ConditionalFrameNorm
from vc.nn.streaming import CausalConv, CumulativeNorm, FrameStream, streaming_layers
from vc.train.config import parse_train_config
from vc.train.trainer import Trainer

# ---- disentangle -------------------------------------------------------------------------------

DIM = 12
CAUSAL: dict[str, Any] = {
    "num_speakers": 3,
    "embedding_dim": 8,
    "causal": True,
    "lookahead": 2,
    "content_encoder": {"channels": 16, "bank_size": 3, "bank_channels": 4, "code_dim": 8, "factors": [1, 1],
                        "sequence": "none", "norm": "frame", "code_norm": "none"},
    "reference_encoder": {"channels": 16, "bank_size": 2, "bank_channels": 4, "factors": [2]},
    "decoder": {"channels": 16, "factors": [1, 1], "sequence": "none", "conditioning": "adaln"},
    "classifier": {"channels": 16, "layers": 2},
    "schedule": {"autoencoder": 2, "classifier": 2, "adversarial": 4, "patcher": 2},
    "patcher": {"generator": {"channels": 8, "sequence": "none", "conditioning": "adaln"},
                "discriminator": {"channels": [8, 8]}},
}
SPLITS = {
    "one at a time": [1] * 23,
    "irregular, with empty pushes": [0, 3, 0, 1, 7, 0, 2, 10],
    "all at once": [23],
}


def causal_model(**overrides: Any) -> Disentangle:
    """A seeded tiny causal model whose patcher adds something (a new one adds zeros)."""
    params = copy.deepcopy(CAUSAL)
    for key, value in overrides.items():
        params[key] = {**params[key], **value} if isinstance(value, dict) and key in params else value
    torch.manual_seed(0)
    model = build_model("disentangle", DIM, params)
    if model.patcher is not None:
        nn.init.normal_(model.patcher.out.weight, std=0.1)
    return model.eval()


def streamed(stream: FrameStream, feats: torch.Tensor, sizes: list[int]) -> torch.Tensor:
    """The stream's output for ``feats`` pushed in blocks of ``sizes`` frames, then flushed."""
    outs, start = [], 0
    for size in sizes:
        outs.append(stream.push(feats[..., start:start + size]))
        start += size
    assert start == feats.shape[-1]
    last = stream.flush()
    return torch.cat(outs + ([last] if last is not None else []), dim=-1)


def target_vector(model: Disentangle, target: str) -> torch.Tensor:
    if target == "lookup":
        return model.speaker_vectors(torch.tensor([1]))
    with torch.no_grad():
        return model.reference_vector(torch.randn(1, DIM, 30))


@pytest.mark.parametrize("split", SPLITS)
@pytest.mark.parametrize("target", ["lookup", "reference"])
@pytest.mark.parametrize("overrides", [
    {},
    {"lookahead": 0, "content_encoder": {"norm": "none", "code_norm": "frame"}, "decoder": {"conditioning": "add"}},
    {"lookahead": 3, "decoder": {"conditioning": "concat"}, "schedule": {"patcher": 0}},
    {"content_encoder": {"code_norm": "cumulative"}},
    {"lookahead": 0, "content_encoder": {"norm": "cumulative", "code_norm": "cumulative"}},
], ids=["adaln-lookahead2-patcher", "add-framecode-lookahead0", "concat-lookahead3", "cumulativecode-lookahead2",
        "cumulative-blocks-and-code-lookahead0"])
def test_stream_equals_convert_to(split: str, target: str, overrides: dict[str, Any]) -> None:
    model = causal_model(**overrides)
    vector = target_vector(model, target)
    feats = torch.randn(1, DIM, 23)
    with torch.no_grad():
        offline = model.convert_to(feats, vector)
    out = streamed(model.frame_stream(vector), feats, SPLITS[split])
    assert out.shape == offline.shape == (1, DIM, 23)
    torch.testing.assert_close(out, offline, atol=1e-5, rtol=1e-5)


def test_stream_of_a_single_frame_and_its_delay() -> None:
    model = causal_model()
    vector = target_vector(model, "lookup")
    feats = torch.randn(1, DIM, 5)
    stream = model.frame_stream(vector)
    # Output comes `lookahead` (2) frames behind the input.
    assert [stream.push(feats[..., t:t + 1]).shape[-1] for t in range(5)] == [0, 0, 1, 1, 1]
    assert stream.flush().shape[-1] == 2
    with torch.no_grad():
        offline = model.convert_to(feats[..., :1], vector)
    torch.testing.assert_close(streamed(model.frame_stream(vector), feats[..., :1], [1]), offline,
                               atol=1e-5, rtol=1e-5)


def test_streams_run_side_by_side_and_leave_the_model_offline() -> None:
    model = causal_model()
    vectors = [target_vector(model, "lookup"), target_vector(model, "reference")]
    feats = torch.randn(2, 1, DIM, 16)
    with torch.no_grad():
        offline = [model.convert_to(feats[i], vectors[i]) for i in range(2)]
    streams = [model.frame_stream(v) for v in vectors]
    outs: list[list[torch.Tensor]] = [[], []]
    for start in range(0, 16, 4):
        for i, stream in enumerate(streams):
            outs[i].append(stream.push(feats[i][..., start:start + 4]))
        with torch.no_grad():  # each stream carries its context in its own copies, not in the model
            assert torch.equal(model.convert_to(feats[0], vectors[0]), offline[0])
    for i, stream in enumerate(streams):
        torch.testing.assert_close(torch.cat(outs[i] + [stream.flush()], dim=-1), offline[i], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("lookahead", [0, 2])
@pytest.mark.parametrize("norms", [{}, {"content_encoder": {"norm": "cumulative", "code_norm": "cumulative"}}],
                         ids=["frame", "cumulative"])
def test_outputs_do_not_see_past_the_lookahead(lookahead: int, norms: dict[str, Any]) -> None:
    model = causal_model(lookahead=lookahead, **norms)
    vector = target_vector(model, "lookup")
    feats = torch.randn(1, DIM, 20)
    changed = feats.clone()
    t = 12
    changed[..., t:] = torch.randn(1, DIM, 20 - t)
    with torch.no_grad():
        before, after = model.convert_to(feats, vector), model.convert_to(changed, vector)
    torch.testing.assert_close(after[..., :t - lookahead], before[..., :t - lookahead], atol=1e-6, rtol=0)
    assert not torch.allclose(after[..., t - lookahead], before[..., t - lookahead])  # it reads exactly that far


def test_a_causal_model_trains_through_every_phase(tmp_path) -> None:
    model = causal_model().train()
    batch = {"feats": torch.randn(6, DIM, 16), "speaker": torch.tensor([0, 1, 2, 0, 1, 2]),
             "ref": torch.randn(6, DIM, 16)}
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    Trainer(model, parse_train_config({"max_steps": 10, "log_interval": 1}), tmp_path, [batch], device="cpu").fit()
    for net in ("content_encoder", "decoder", "patcher"):
        assert any(not torch.equal(p, before[n]) for n, p in model.named_parameters() if n.startswith(net + "."))
    assert model.encode(batch["feats"]).shape == (6, 8, 16 + 2)  # the lookahead's frames, dropped when decoding


@pytest.mark.parametrize("overrides, message", [
    ({"content_encoder": {"factors": [1, 2]}}, "model_params.content_encoder: a causal model (model_params.causal) "
     "keeps every frame: factors must all be 1, got [1, 2]"),
    ({"content_encoder": {"sequence": "gru"}}, "model_params.content_encoder: a causal model (model_params.causal) "
     "needs sequence: none, got 'gru' (it reads the whole utterance)"),
    ({"content_encoder": {"norm": "instance"}}, "model_params.content_encoder: a causal model (model_params.causal) "
     "needs norm: frame, cumulative or none, got 'instance' (it spans the whole utterance)"),
    ({"content_encoder": {"code_norm": "instance"}}, "model_params.content_encoder: a causal model "
     "(model_params.causal) needs code_norm: frame, cumulative or none, got 'instance' (it spans the whole "
     "utterance)"),
    ({"decoder": {"factors": [2, 1]}}, "model_params.decoder: a causal model (model_params.causal) keeps every frame"),
    ({"decoder": {"sequence": "attention"}}, "model_params.decoder: a causal model (model_params.causal) needs "
     "sequence: none, got 'attention'"),
    ({"decoder": {"conditioning": "adain"}}, "model_params.decoder: a causal model (model_params.causal) needs "
     "conditioning: adaln, add or concat, got 'adain' (its instance norm spans the whole utterance)"),
    ({"patcher": {"generator": {"sequence": "gru"}}}, "model_params.patcher.generator: a causal model "
     "(model_params.causal) needs sequence: none, got 'gru'"),
    ({"causal": False}, "model_params.lookahead: a causal model's setting (causal: true); the default model sees "
     "the whole utterance"),
    ({"lookahead": -1}, "model_params.lookahead: must be >= 0, got -1"),
    ({"content_encoder": {"causal": True}}, "model_params.content_encoder.causal: set from model_params.causal, "
     "remove it"),
    ({"decoder": {"causal": False}}, "model_params.decoder.causal: set from model_params.causal, remove it"),
    ({"content_encoder": {"norm": "batch"}}, "model_params.content_encoder.norm: 'batch' is not one of "
     "'instance', 'frame', 'cumulative', 'none'"),
    ({"content_encoder": {"code_norm": "cumulativ"}}, "model_params.content_encoder.code_norm: 'cumulativ' is not "
     "one of 'instance', 'frame', 'cumulative', 'none'"),
    ({"phonetic": {"phones": ["a", "b"], "channels": 16, "kernel": 3, "dilations": [1, 2], "bottleneck": 8}},
     "model_params.causal: a causal model reads the features, not a phone recogniser (it sees the whole "
     "utterance): remove content_model"),
])
def test_config_errors_are_one_line(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as error:
        causal_model(**overrides)
    assert str(error.value).startswith(message) and "\n" not in str(error.value)


def test_frame_stream_refuses_models_that_cannot_stream() -> None:
    offline = {k: v for k, v in CAUSAL.items() if k not in ("causal", "lookahead")}
    offline.update(content_encoder={**CAUSAL["content_encoder"], "norm": "instance", "code_norm": "instance"},
                   decoder={**CAUSAL["decoder"], "conditioning": "adain"})
    model = build_model("disentangle", DIM, offline)
    with pytest.raises(ConfigError, match=r"^this disentangle model sees the whole utterance and cannot stream; "
                       r"train one with model_params\.causal: true \(conf/disentangle_stream_quick\.yaml\)$"):
        model.frame_stream(model.speaker_vectors(torch.tensor([0])))
    phonetic = build_model("disentangle", DIM, {**offline, "phonetic": {
        "phones": ["a", "b"], "channels": 16, "kernel": 3, "dilations": [1, 2], "bottleneck": 8}})
    with pytest.raises(ConfigError, match=r"reads a phone recogniser's bottleneck \(content_model\), which sees the "
                       r"whole utterance, and cannot stream"):
        phonetic.frame_stream(phonetic.speaker_vectors(torch.tensor([0])))
    causal = causal_model()
    with pytest.raises(ValueError, match=r"vectors: expected one speaker vector \[1, 8\], got shape \(2, 8\)"):
        causal.frame_stream(causal.speaker_vectors(torch.tensor([0, 1])))


def test_adaln_normalises_each_frame_alone_then_applies_the_speaker() -> None:
    torch.manual_seed(0)
    layer = ConditionalFrameNorm(6, 4)
    x, c = torch.randn(2, 6, 5) * 3 + 1, torch.randn(2, 4)
    gamma, beta = layer.affine(c).chunk(2, dim=1)
    normalised = (layer(x, c) - beta[..., None]) / (1 + gamma[..., None])
    torch.testing.assert_close(normalised.mean(dim=1), torch.zeros(2, 5), atol=1e-5, rtol=0)
    torch.testing.assert_close(normalised.var(dim=1, correction=0), torch.ones(2, 5), atol=1e-3, rtol=0)
    changed = x.clone()
    changed[..., 3] = 0
    torch.testing.assert_close(layer(changed, c)[..., :3], layer(x, c)[..., :3])


# ---- cumulative norm ---------------------------------------------------------------------------


def prefix_instance_norm(x: torch.Tensor, prior: float, eps: float = 1e-5) -> torch.Tensor:
    """Frame t normalised by the mean and (biased) variance per channel of frames 0..t (and the
    height) pooled with ``prior`` pseudo-frames of mean 0 and variance 1, one frame at a time."""
    axes = tuple(range(2, x.dim()))
    outs = []
    for t in range(x.shape[-1]):
        seen = x[..., :t + 1].double()
        n = seen[0, 0].numel() + prior * seen[0, 0].numel() / (t + 1)
        mean = seen.sum(dim=axes, keepdim=True) / n
        var = ((seen * seen).sum(dim=axes, keepdim=True) + prior * seen[0, 0].numel() / (t + 1)) / n - mean ** 2
        outs.append((x[..., t:t + 1].double() - mean) / torch.sqrt(var + eps))
    return torch.cat(outs, dim=-1).float()


@pytest.mark.parametrize("dims", [1, 2])
@pytest.mark.parametrize("prior", [0.0, 1.0, 4.0])
def test_cumulative_norm_is_instance_norm_over_the_frames_so_far(dims: int, prior: float) -> None:
    torch.manual_seed(0)
    norm = CumulativeNorm(dims, 3, affine=False, prior=prior)
    x = torch.randn(2, 3, *((4,) if dims == 2 else ()), 19) * 3 + 2
    torch.testing.assert_close(norm(x), prefix_instance_norm(x, prior), atol=1e-4, rtol=1e-4)
    # The last frame's statistics are instance norm's over the whole input (as the prior fades).
    whole = CumulativeNorm(dims, 3, affine=False, prior=0.0)(x)[..., -1]
    instance = (nn.InstanceNorm1d if dims == 1 else nn.InstanceNorm2d)(3)(x)[..., -1]
    torch.testing.assert_close(whole, instance, atol=1e-4, rtol=1e-4)


def test_cumulative_norm_early_frames_are_finite_and_tempered_by_the_prior() -> None:
    x = torch.full((1, 2, 6), 5.0)
    assert torch.equal(CumulativeNorm(1, 2, affine=False, prior=0.0)(x), torch.zeros(1, 2, 6))  # no spread: 0
    y = CumulativeNorm(1, 2, affine=False, prior=1.0)(x)
    assert torch.isfinite(y).all()
    # Frame 0 against one pseudo-frame (0, var 1): mean 2.5, variance (25 + 1) / 2 - 6.25 = 6.75.
    torch.testing.assert_close(y[0, 0, 0], torch.tensor(2.5 / 6.75 ** 0.5))
    assert (y[0, 0].diff() < 0).all()  # the prior's pull fades as frames come
    with pytest.raises(ValueError, match=r"^prior: pseudo-frames must be >= 0, got -1$"):
        CumulativeNorm(1, 2, prior=-1)


@pytest.mark.parametrize("split", SPLITS)
@pytest.mark.parametrize("dims", [1, 2])
def test_cumulative_norm_streams_like_its_offline_form(split: str, dims: int) -> None:
    """In a network with causal convs, fed through FrameStream, restarted after a flush (3 channels out:
    an empty push returns its input)."""
    torch.manual_seed(0)
    network = nn.Sequential(CausalConv(dims, 3, 4, (3,) * dims, (1,) * dims), CumulativeNorm(dims, 4),
                            CausalConv(dims, 4, 3, (1, 2)[-dims:] if dims == 2 else (2,), (1,) * dims))
    assert streaming_layers(network) == [network[0], network[1], network[2]]
    nn.init.normal_(network[1].weight)
    feats = torch.randn(1, 3, *((5,) if dims == 2 else ()), 23) * 2 + 1
    with torch.no_grad():
        offline = network(feats)
    for _ in range(2):  # the second stream starts from nothing again
        stream = FrameStream(network, lambda h: h, network, lookahead=0)
        torch.testing.assert_close(streamed(stream, feats, SPLITS[split]), offline, atol=1e-5, rtol=1e-5)
        assert not network[1].streaming and network[1].state is None and network[0].carry is None
    causal = feats.clone()
    causal[..., 9:] = 0
    with torch.no_grad():
        torch.testing.assert_close(network(causal)[..., :9], offline[..., :9])
