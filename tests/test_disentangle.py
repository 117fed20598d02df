"""Disentangle (Chou et al. 2018): shapes at several sizes, the nn pieces it adds, every phase's
updates and live parameters, speaker encoders, gradient reversal, trainer runs, exact resume
across phases, config errors and the reference-segment loader."""

from __future__ import annotations

import contextlib
import copy
import itertools
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kaldiio
import numpy as np
import pytest
import torch
import torch.nn.functional as F
import yaml
from torch import nn

from vc.audio import FeatureConfig
from vc.cli import main
from vc.config import to_dict
from vc.data.dump import FeatureDump
from vc.data.stats import compute_stats
from vc.data.unpaired import MultiSpeakerLoader
from vc.errors import ConfigError
from vc.models import build_model
from vc.models.disentangle import Disentangle, Schedule
from vc.models.disentangle_networks import ContentEncoder, Decoder, LatentClassifier, ReferenceEncoder
from vc.nn import ConvBank1d, reverse_gradient
from vc.train.checkpoint import latest_checkpoint, load_checkpoint
from vc.train.config import parse_train_config
from vc.train.trainer import Trainer

DIM = 12
SPEAKERS = 3
TINY: dict[str, Any] = {
    "num_speakers": SPEAKERS,
    "content_encoder": {"channels": 16, "bank_size": 3, "bank_channels": 4, "code_dim": 8, "factors": [1, 2]},
    "reference_encoder": {"channels": 16, "bank_size": 2, "bank_channels": 4, "factors": [2]},
    "decoder": {"channels": 16, "factors": [2, 1]},
    "classifier": {"channels": 16, "layers": 2},
    "embedding_dim": 8,
    "classifier_steps": 2,
    "adv_ramp_steps": 3,
    "schedule": {"autoencoder": 2, "classifier": 2, "adversarial": 4, "patcher": 2},
    "patcher": {"generator": {"channels": 8}, "discriminator": {"channels": [8, 8]}},
}
TOTAL = 10  # the sum of TINY's schedule
AE, CLF, ADV, PATCH = 0, 2, 4, 8  # first step of each phase of TINY's schedule


def tiny_params(**overrides: Any) -> dict[str, Any]:
    params = copy.deepcopy(TINY)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(params.get(key), dict):
            params[key] = {**params[key], **value}
        else:
            params[key] = value
    return params


def tiny_model(dim: int = DIM, **overrides: Any) -> Disentangle:
    return build_model("disentangle", dim, tiny_params(**overrides))


def tiny_batch(dim: int = DIM, frames: int = 16, speaker: list[int] | None = None) -> dict[str, torch.Tensor]:
    """Every speaker appears (so every lookup row is used), with another segment as "ref"."""
    spk = torch.tensor(speaker if speaker is not None else [0, 1, 2, 0, 1, 2])
    return {"feats": torch.randn(len(spk), dim, frames), "speaker": spk,
            "target": (spk + 1) % SPEAKERS, "ref": torch.randn(len(spk), dim, frames)}


class RecordingContext:
    """A StepContext that records each update: its groups, the groups' parameters the loss leaves
    without gradient ("dead"), other groups' parameters it reaches ("leaked"), and the gradients."""

    DEAD = 1e-7  # below this a gradient is rounding noise

    def __init__(self, model: Disentangle, step: int = 0) -> None:
        self.model, self.step, self.device = model, step, torch.device("cpu")
        self.group_params = {name: [p for net in nets for p in net.parameters()]
                             for name, nets in model.optimizer_groups().items()}
        self.updates: list[tuple[str, ...]] = []
        self.dead: list[list[str]] = []
        self.leaked: list[list[str]] = []
        self.grads: list[dict[str, torch.Tensor]] = []

    def autocast(self) -> contextlib.nullcontext:
        return contextlib.nullcontext()

    @contextlib.contextmanager
    def only(self, group: str) -> Iterator[None]:
        assert group in self.group_params, group
        others = [p for name, params in self.group_params.items() if name != group for p in params
                  if p.requires_grad]
        for p in others:
            p.requires_grad_(False)
        try:
            yield
        finally:
            for p in others:
                p.requires_grad_(True)

    def update(self, group: str | tuple[str, ...], loss: torch.Tensor) -> None:
        groups = (group,) if isinstance(group, str) else tuple(group)
        assert all(g in self.group_params for g in groups), groups
        assert loss.dim() == 0 and torch.isfinite(loss), loss
        own = {id(p) for g in groups for p in self.group_params[g]}
        named = [(n, p) for n, p in self.model.named_parameters() if p.requires_grad]
        grads = torch.autograd.grad(loss, [p for _, p in named], allow_unused=True)
        self.updates.append(groups)
        self.grads.append({n: g for (n, p), g in zip(named, grads) if id(p) in own and g is not None})
        self.dead.append([n for (n, p), g in zip(named, grads)
                          if id(p) in own and (g is None or not g.abs().max() > self.DEAD)])
        self.leaked.append([n for (n, p), g in zip(named, grads) if id(p) not in own and g is not None])


def run_step(model: Disentangle, step: int, batch: dict[str, torch.Tensor] | None = None
             ) -> tuple[RecordingContext, dict[str, float]]:
    ctx = RecordingContext(model, step)
    logs = model.train_step(batch if batch is not None else tiny_batch(), ctx)
    assert all(math.isfinite(v) for v in logs.values()), logs
    return ctx, logs


# ---- shapes -----------------------------------------------------------------------------------


@pytest.mark.parametrize("dim", [80, 36, 513])
def test_networks_take_any_shape(dim: int) -> None:
    enc = ContentEncoder(dim, channels=16, bank_size=3, bank_channels=4, code_dim=8, factors=(1, 2))
    ref = ReferenceEncoder(dim, 8, channels=16, bank_size=2, bank_channels=4, factors=(2,))
    dec = Decoder(8, dim, 8, channels=16, factors=(2, 1))
    clf = LatentClassifier(8, SPEAKERS, channels=16, layers=2)
    e = torch.randn(2, 8)
    for frames in (7, 64, 65):
        code = enc(torch.randn(2, dim, frames))
        assert code.shape == (2, 8, -(-frames // 2))
        assert clf(code).shape == (2, SPEAKERS)
        assert dec(code, e).shape == (2, dim, 2 * code.shape[-1])
    for frames in (1, 2, 7, 65):
        assert ref(torch.randn(2, dim, frames)).shape == (2, 8)
    assert clf(torch.randn(2, 8, 1)).shape == (2, SPEAKERS)  # global pooling: one frame is enough


@pytest.mark.parametrize("dim", [80, 36, 513])
def test_convert_to_keeps_the_input_shape(dim: int) -> None:
    model = tiny_model(dim).eval()
    vectors = model.speaker_vectors(torch.tensor([0, 2]))
    for frames in (3, 7, 63, 65):
        x = torch.randn(2, dim, frames)
        assert model.encode(x).shape == (2, 8, -(-frames // 2))
        out = model.convert_to(x, vectors)
        assert out.shape == (2, dim, frames) and torch.isfinite(out).all()
        assert model.convert(x, torch.tensor([0, 1]), torch.tensor([2, 0])).shape == (2, dim, frames)
    assert model.reference_vector(torch.randn(1, dim, 1)).shape == (1, 8)


@pytest.mark.parametrize("sequence, conditioning", [("attention", "concat"), ("none", "add"), ("gru", "adain")])
def test_deeper_downsampling_and_other_layers(sequence: str, conditioning: str) -> None:
    model = tiny_model(content_encoder={"factors": [2, 2], "sequence": sequence},
                       decoder={"factors": [2, 2], "sequence": sequence, "conditioning": conditioning}).eval()
    vectors = model.speaker_vectors(torch.tensor([1, 0]))
    for frames in (9, 63, 65):
        x = torch.randn(2, DIM, frames)
        assert model.encode(x).shape == (2, 8, -(-frames // 4))
        assert model.convert_to(x, vectors).shape == (2, DIM, frames)


# An utterance of at most `downsample` frames would give a one-frame content code, on which
# instance norm fails: encode pads it to two code frames.
@pytest.mark.parametrize("frames", [1, 2])
def test_convert_to_takes_utterances_shorter_than_the_downsampling(frames: int) -> None:
    model = tiny_model(80).eval()
    x = torch.randn(1, 80, frames)
    out = model.convert_to(x, model.speaker_vectors(torch.tensor([1])))
    assert out.shape == (1, 80, frames) and torch.isfinite(out).all()


# ---- nn pieces --------------------------------------------------------------------------------


def test_reverse_gradient_is_identity_forward_and_negated_scaled_backward() -> None:
    x = torch.randn(3, 5, requires_grad=True)
    w = torch.randn(3, 5)
    for weight in (1.0, 0.25, 0.0):
        y = reverse_gradient(x, weight)
        assert torch.equal(y, x)
        (grad,) = torch.autograd.grad((y * w).sum(), x)
        torch.testing.assert_close(grad, -weight * w, rtol=0, atol=0)
    # default weight 1, and through a non-linear function: exactly minus the plain gradient
    plain, = torch.autograd.grad(torch.tanh(x * w).pow(2).sum(), x)
    reversed_, = torch.autograd.grad(torch.tanh(reverse_gradient(x) * w).pow(2).sum(), x)
    torch.testing.assert_close(reversed_, -plain, rtol=0, atol=0)


@pytest.mark.parametrize("bank_size", [1, 2, 4, 5])
def test_conv_bank_channels_and_length(bank_size: int) -> None:
    bank = ConvBank1d(5, bank_size, 3)
    assert bank.out_channels == 5 + 3 * bank_size
    for frames in (1, 2, 3, 8, 9):
        x = torch.randn(2, 5, frames)
        out = bank(x)
        assert out.shape == (2, 5 + 3 * bank_size, frames)
        assert torch.equal(out[:, :5], x)  # the input itself comes first
        assert torch.isfinite(out).all()


@pytest.mark.parametrize("kernel", [1, 2, 3, 4, 5])
def test_conv_bank_windows_are_centred_left_for_even_kernels(kernel: int) -> None:
    bank = ConvBank1d(2, 5, 3)
    x = torch.randn(1, 2, 11, requires_grad=True)
    t = 5
    rows = slice(2 + 3 * (kernel - 1), 2 + 3 * kernel)  # the kernel-k conv's channels
    (grad,) = torch.autograd.grad(bank(x)[0, rows, t].sum(), x)
    seen = torch.nonzero(grad.abs().sum(dim=(0, 1))).flatten().tolist()
    assert seen == list(range(t - kernel // 2, t + (kernel - 1) // 2 + 1))


def test_conv_bank_rejects_an_empty_bank() -> None:
    with pytest.raises(ValueError, match="bank_size must be >= 1"):
        ConvBank1d(4, 0, 3)


# ---- phases -----------------------------------------------------------------------------------


def test_schedule_phase_boundaries() -> None:
    s = Schedule(autoencoder=2, classifier=2, adversarial=4, patcher=2)
    assert s.total == 10
    expected = [("autoencoder", 0), ("autoencoder", 1), ("classifier", 0), ("classifier", 1),
                ("adversarial", 0), ("adversarial", 1), ("adversarial", 2), ("adversarial", 3),
                ("patcher", 0), ("patcher", 1), ("patcher", 2), ("patcher", 3)]  # past the end: the last phase
    assert [s.phase_at(step) for step in range(12)] == expected
    gaps = Schedule(autoencoder=0, classifier=3, adversarial=0, patcher=2)
    assert [gaps.phase_at(step)[0] for step in range(6)] == ["classifier"] * 3 + ["patcher"] * 3
    no_patcher = Schedule(autoencoder=2, classifier=0, adversarial=3, patcher=0)
    assert [no_patcher.phase_at(step) for step in (1, 2, 4, 5, 7)] == [
        ("autoencoder", 1), ("adversarial", 0), ("adversarial", 2), ("adversarial", 3), ("adversarial", 5)]


@pytest.mark.parametrize("speaker_encoder", ["lookup", "reference", "both"])
def test_autoencoder_phase_trains_every_autoencoder_parameter(speaker_encoder: str) -> None:
    model = tiny_model(speaker_encoder=speaker_encoder)
    for step in (AE, AE + 1):
        ctx, logs = run_step(model, step)
        assert ctx.updates == [("autoencoder",)]
        assert ctx.leaked == [[]]  # nothing reaches the classifier
        assert ctx.dead[0] == []
        nets = {name.split(".")[0] for name in ctx.grads[0]}
        expected = {"content_encoder", "decoder", "speaker_table"}
        assert nets == expected | ({"reference_encoder"} if speaker_encoder != "lookup" else set())
        rows = ctx.grads[0]["speaker_table.weight"].abs().sum(dim=1)
        assert (rows > 0).all()  # every row: used as a lookup vector and/or as a prototype
        assert "ae/recon" in logs and not any(key.startswith("adv/") for key in logs)


def test_lookup_rows_get_gradient_only_when_used() -> None:
    model = tiny_model(speaker_encoder="lookup")
    ctx, _ = run_step(model, AE, tiny_batch(speaker=[0, 1, 0, 1]))
    rows = ctx.grads[0]["speaker_table.weight"].abs().sum(dim=1)
    assert rows[0] > 0 and rows[1] > 0 and rows[2] == 0
    # with a reference encoder every row is a prototype of the consistency term
    model = tiny_model(speaker_encoder="both")
    ctx, _ = run_step(model, AE, tiny_batch(speaker=[0, 1, 0, 1]))
    assert (ctx.grads[0]["speaker_table.weight"].abs().sum(dim=1) > 0).all()


def test_classifier_phase_trains_only_the_classifier() -> None:
    model = tiny_model()
    for step in (CLF, CLF + 1):
        ctx, logs = run_step(model, step)
        assert ctx.updates == [("classifier",)]
        assert ctx.dead == [[]] and ctx.leaked == [[]]  # the encoder runs without a graph
        assert {name.split(".")[0] for name in ctx.grads[0]} == {"classifier"}
        assert set(logs) == {"clf/ce", "clf/acc"}


@pytest.mark.parametrize("adversarial_loss", ["confusion", "negative_ce"])
def test_adversarial_alternate_k_classifier_steps_then_one_autoencoder_step(adversarial_loss: str) -> None:
    # 9 adversarial steps, k = 2, alpha reaches 0.3 after 6 steps
    model = tiny_model(lambda_adv=0.3, adv_ramp_steps=6, adversarial_loss=adversarial_loss,
                       schedule={"autoencoder": 1, "classifier": 1, "adversarial": 9, "patcher": 0})
    alphas = []
    for within in range(9):
        ctx, logs = run_step(model, 2 + within)
        if within % 3 < 2:
            assert ctx.updates == [("classifier",)] and set(logs) == {"clf/ce", "clf/acc"}
            assert ctx.dead == [[]] and ctx.leaked == [[]]
        else:
            assert ctx.updates == [("autoencoder",)]
            assert ctx.leaked == [[]]  # the classifier gives the encoder gradient but learns nothing here
            assert ctx.dead[0] == []
            assert {"adv/ce", "adv/acc", "adv/alpha", "ae/recon", "ae/consistency"} <= set(logs)
            assert logs["ae/total"] == pytest.approx(
                logs["ae/recon"] + logs["ae/consistency"] + logs["adv/alpha"] * logs["adv/term"], rel=1e-5)
            if adversarial_loss == "negative_ce":
                assert logs["adv/term"] == pytest.approx(-logs["adv/ce"])
            else:  # cross-entropy to uniform: at least log N, reached when the classifier cannot tell
                assert logs["adv/term"] >= math.log(3) - 1e-6
            alphas.append(logs["adv/alpha"])
    assert alphas == pytest.approx([0.15, 0.3, 0.3])  # 0.3 * min(1, (step + 1) / 6) at steps 2, 5, 8


def test_adversarial_reverse_updates_both_groups_at_once() -> None:
    model = tiny_model(adversarial="reverse", lambda_adv=0.3)
    alphas = []
    for step in range(ADV, PATCH):
        ctx, logs = run_step(model, step)
        assert ctx.updates == [("autoencoder", "classifier")]
        assert ctx.leaked == [[]]
        assert ctx.dead[0] == []
        assert any(name.startswith("classifier.") for name in ctx.grads[0])
        alphas.append(logs["adv/alpha"])
    assert alphas == pytest.approx([0.1, 0.2, 0.3, 0.3])  # ramped over adv_ramp_steps = 3


def test_patcher_phase_trains_the_patcher_then_its_discriminator() -> None:
    model = tiny_model()
    ctx, logs = run_step(model, PATCH)
    assert ctx.updates == [("patcher",), ("patch_discriminator",)]
    assert ctx.leaked == [[], []]  # encoder and decoder frozen; D untouched by the patcher's loss
    assert set(logs) == {"patch/g_adv", "patch/g_cls", "patch/d_adv", "patch/d_cls"}
    # The residual generator's output conv starts at zero ("add nothing"), so only it learns first.
    live = {name for name in ctx.grads[0] if name not in ctx.dead[0]}
    assert live == {"patcher.out.weight", "patcher.out.bias"}
    assert ctx.dead[1] == []
    nn.init.normal_(model.patcher.out.weight, std=0.1)  # as after a first update
    ctx, _ = run_step(model, PATCH + 1)
    assert ctx.dead[0] == [] and ctx.dead[1] == []
    assert {name.split(".")[0] for name in ctx.grads[0]} == {"patcher"}
    assert {name.split(".")[0] for name in ctx.grads[1]} == {"patch_discriminator"}


# ---- speaker encoders ----------------------------------------------------------------------------


@pytest.mark.parametrize("speaker_encoder", ["lookup", "reference", "both"])
def test_speaker_encoders_groups_and_losses(speaker_encoder: str) -> None:
    model = tiny_model(speaker_encoder=speaker_encoder)
    groups = model.optimizer_groups()
    assert list(groups) == ["autoencoder", "classifier", "patcher", "patch_discriminator"]
    assert (model.reference_encoder is None) == (speaker_encoder == "lookup")
    assert (model.reference_encoder in groups["autoencoder"]) == (speaker_encoder != "lookup")
    # the groups partition the parameters
    grouped = [id(p) for nets in groups.values() for net in nets for p in net.parameters()]
    assert sorted(grouped) == sorted(id(p) for p in model.parameters())
    assert model.has_lookup == (speaker_encoder != "reference")

    sizes: list[int] = []
    model.decoder.register_forward_hook(lambda _m, args, _out: sizes.append(args[0].shape[0]))
    batch = tiny_batch()
    if speaker_encoder == "lookup":
        del batch["ref"]  # not needed without a reference encoder
    _, logs = run_step(model, AE, batch)
    assert sizes == [12 if speaker_encoder == "both" else 6]  # "both" decodes with either vector
    assert ("ae/consistency" in logs) == ("ae/consistency_acc" in logs) == (speaker_encoder != "lookup")
    ctx, logs = run_step(model, PATCH, batch)
    assert ctx.updates == [("patcher",), ("patch_discriminator",)]

    metrics = model.validation_step(batch)
    assert ("recon_l1_lookup" in metrics) == (speaker_encoder != "reference")
    assert ("recon_l1_reference" in metrics) == ("reference_proto_acc" in metrics) == (speaker_encoder != "lookup")
    visuals = model.visuals(batch)
    assert {k: tuple(v.shape) for k, v in visuals.items()} == {k: (DIM, 16) for k in
                                                              ("source", "reconstructed", "converted")}


def test_conversion_entry_points_name_the_missing_encoder() -> None:
    x = torch.randn(2, DIM, 20)
    reference_only = tiny_model(speaker_encoder="reference").eval()
    with pytest.raises(ValueError, match=r"no speaker lookup table \(speaker_encoder: reference\)"):
        reference_only.convert(x, torch.tensor([0, 1]), torch.tensor([1, 2]))
    with pytest.raises(ValueError, match="no speaker lookup table"):
        reference_only.speaker_vectors(torch.tensor([0]))
    vector = reference_only.reference_vector(torch.randn(1, DIM, 9))
    assert reference_only.convert_to(x, vector.expand(2, -1)).shape == x.shape

    lookup_only = tiny_model(speaker_encoder="lookup").eval()
    with pytest.raises(ValueError, match=r"no reference encoder \(speaker_encoder: lookup\)"):
        lookup_only.reference_vector(torch.randn(1, DIM, 9))
    with pytest.raises(ValueError, match=r"speaker indices must be in \[0, 3\)"):
        lookup_only.convert(x, torch.tensor([0, 1]), torch.tensor([1, 3]))
    with pytest.raises(ValueError, match="tgt: expected one speaker index per item"):
        lookup_only.convert(x, torch.tensor([0, 1]), torch.tensor([1]))
    out = lookup_only.convert(x, torch.tensor([0, 0]), torch.tensor([1, 2]))
    assert out.shape == x.shape and not torch.allclose(out[0], out[1])  # the target matters


# ---- gradient reversal --------------------------------------------------------------------------


def test_gradient_reversal_really_reverses() -> None:
    """Reverse at alpha: the encoder gets recon's gradient minus alpha x CE's, the classifier
    +CE's; the same encoder gradient as alternate's autoencoder step at that alpha."""
    alpha = 0.5
    params: dict[str, Any] = {"lambda_adv": alpha, "adv_ramp_steps": 1, "classifier_steps": 2,
                              "schedule": {"autoencoder": 1, "classifier": 0, "adversarial": 3, "patcher": 0}}
    model = tiny_model(adversarial="reverse", **params)
    batch = tiny_batch()
    reverse, logs = run_step(model, 1, batch)
    assert logs["adv/alpha"] == alpha
    plain, _ = run_step(model, 0, batch)  # the autoencoder phase: same loss without the CE term
    code = model.encode(batch["feats"])
    ce = F.cross_entropy(model.classifier(code), batch["speaker"])
    ce_grads = dict(zip([n for n, _ in model.named_parameters()],
                        torch.autograd.grad(ce, list(model.parameters()), allow_unused=True)))
    encoder = [n for n in reverse.grads[0] if n.startswith("content_encoder.")]
    assert encoder and len(encoder) == len(list(model.content_encoder.parameters()))
    for name in encoder:
        expected = plain.grads[0][name] - alpha * ce_grads[name]
        torch.testing.assert_close(reverse.grads[0][name], expected, rtol=1e-4, atol=1e-7, msg=name)
    for name in (n for n, _ in model.classifier.named_parameters()):
        torch.testing.assert_close(reverse.grads[0][f"classifier.{name}"], ce_grads[f"classifier.{name}"],
                                   rtol=1e-5, atol=1e-8, msg=name)
    for name in (n for n in reverse.grads[0] if n.startswith(("decoder.", "reference_encoder."))):
        torch.testing.assert_close(reverse.grads[0][name], plain.grads[0][name], rtol=1e-5, atol=1e-8, msg=name)
    assert any(ce_grads[name].abs().max() > 1e-4 for name in encoder)  # the check is not vacuous

    alternate = tiny_model(adversarial="alternate", adversarial_loss="negative_ce", **params)
    alternate.load_state_dict(model.state_dict())
    ctx, logs = run_step(alternate, 3, batch)  # the autoencoder step after k = 2 classifier steps
    assert ctx.updates == [("autoencoder",)] and logs["adv/alpha"] == alpha
    for name in encoder:
        torch.testing.assert_close(ctx.grads[0][name], reverse.grads[0][name], rtol=1e-4, atol=1e-7, msg=name)


class MixedPrecisionContext(RecordingContext):
    """bf16 autocast on CPU: the dtypes a CUDA AMP run mixes."""

    def autocast(self) -> torch.autocast:  # type: ignore[override]
        return torch.autocast("cpu", dtype=torch.bfloat16)


@pytest.mark.parametrize("adversarial", ["alternate", "reverse"])
def test_every_phase_runs_under_autocast(adversarial: str) -> None:
    model = tiny_model(adversarial=adversarial)
    nn.init.normal_(model.patcher.out.weight, std=0.1)
    updates = []
    for step in range(TOTAL):
        ctx = MixedPrecisionContext(model, step)
        logs = model.train_step(tiny_batch(), ctx)
        assert all(math.isfinite(v) for v in logs.values()), (step, logs)
        updates += ctx.updates
        assert all(not leaked for leaked in ctx.leaked)
    assert ("patcher",) in updates and ("patch_discriminator",) in updates


# ---- trainer -------------------------------------------------------------------------------------


def record_logs(model: Disentangle) -> list[dict[str, float]]:
    logs: list[dict[str, float]] = []
    train_step = model.train_step

    def recorded(batch: dict[str, torch.Tensor], ctx) -> dict[str, float]:
        logs.append(train_step(batch, ctx))
        return logs[-1]

    model.train_step = recorded  # type: ignore[method-assign]
    return logs


def test_one_trainer_step(tmp_path: Path) -> None:
    model = tiny_model(schedule={"autoencoder": 1, "classifier": 0, "adversarial": 0, "patcher": 0})
    assert model.patcher is None and list(model.optimizer_groups()) == ["autoencoder", "classifier"]
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    logs = record_logs(model)
    Trainer(model, parse_train_config({"max_steps": 1}), tmp_path, [tiny_batch()], device="cpu").fit()
    assert len(logs) == 1 and all(math.isfinite(v) for v in logs[0].values())
    changed = {n for n, p in model.named_parameters() if not torch.equal(p, before[n])}
    assert not any(n.startswith("classifier.") for n in changed)
    trainable = {n for n, _ in model.named_parameters() if not n.startswith("classifier.")}
    assert trainable <= changed


def test_one_reversal_step_through_the_trainer_updates_both_groups(tmp_path: Path) -> None:
    model = tiny_model(adversarial="reverse", schedule={"autoencoder": 0, "classifier": 0, "adversarial": 1,
                                                        "patcher": 0})
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    logs = record_logs(model)
    Trainer(model, parse_train_config({"max_steps": 1}), tmp_path, [tiny_batch()], device="cpu").fit()
    assert len(logs) == 1 and "adv/ce" in logs[0]
    changed = {n for n, p in model.named_parameters() if not torch.equal(p, before[n])}
    assert set(before) <= changed  # encoder, decoder, table, references, classifier


@pytest.mark.parametrize("adversarial", ["alternate", "reverse"])
def test_full_schedule_through_the_trainer(tmp_path: Path, adversarial: str) -> None:
    model = tiny_model(adversarial=adversarial)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    logs = record_logs(model)
    config = parse_train_config({"max_steps": TOTAL, "log_interval": 1, "grad_clip": 1.0})
    Trainer(model, config, tmp_path, [tiny_batch()], device="cpu").fit()
    assert len(logs) == TOTAL
    assert all(math.isfinite(v) for entry in logs for v in entry.values())
    kinds = ["patch" if "patch/g_adv" in e else "adv" if "adv/ce" in e else "clf" if "clf/ce" in e else "ae"
             for e in logs]
    middle = ["adv"] * 4 if adversarial == "reverse" else ["clf", "clf", "adv", "clf"]
    assert kinds == ["ae", "ae", "clf", "clf", *middle, "patch", "patch"]
    for net in ("content_encoder", "decoder", "speaker_table", "reference_encoder", "classifier", "patcher",
                "patch_discriminator"):
        assert any(not torch.equal(p, before[n]) for n, p in model.named_parameters() if n.startswith(net + ".")), net
    train_log = (tmp_path / "log" / "train.log").read_text()
    assert "patch/d_adv=" in train_log and "ae/recon=" in train_log


# ---- exact resume across phases through `vc train` ------------------------------------------------


def write_dump(root: Path, utts: dict[str, tuple[str, np.ndarray]], dim: int) -> FeatureDump:
    """A dump as extract_dump writes it, from given [frames, dim] matrices."""
    root.mkdir(parents=True)
    with kaldiio.WriteHelper(f"ark,scp:{root / 'feats.1.ark'},{root / 'feats.scp'}") as writer:
        for utt in sorted(utts):
            writer(utt, utts[utt][1].astype(np.float32))
    (root / "utt2spk").write_text("".join(f"{u} {utts[u][0]}\n" for u in sorted(utts)))
    (root / "feats.yaml").write_text(yaml.safe_dump(to_dict(FeatureConfig(n_mels=dim))))
    return FeatureDump.open(root)


@pytest.fixture
def dump(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    utts = {f"spk{s}_{u}": (f"spk{s}", rng.normal(s, 1.0 + s, size=(30 + 7 * u, DIM)))
            for s in range(SPEAKERS) for u in range(2)}
    root = tmp_path / "dump"
    compute_stats(write_dump(root, utts, DIM)).save(root / "stats.npz")
    return root


def _train(conf: Path, exp: Path, dump: Path, *extra: str) -> int:
    return main(["train", "--conf", str(conf), "--exp", str(exp), "--train-dump", str(dump),
                 "--valid-dump", str(dump), "--device", "cpu", *extra])


def _train_lines(exp: Path) -> list[str]:
    """The train.log lines without time stamps and speed."""
    lines = (exp / "log" / "train.log").read_text().splitlines()
    return [line.split(" ", 2)[2].rsplit(" it/s=", 1)[0] for line in lines if " step=" in line]


def test_resume_inside_the_classifier_phase_is_exact(dump: Path, tmp_path: Path, monkeypatch,
                                                     capsys) -> None:
    params = tiny_params()
    del params["num_speakers"]  # taken from the data
    conf = tmp_path / "d.yaml"
    conf.write_text(yaml.safe_dump({
        "model": "disentangle", "model_params": params, "data": {"segment_frames": 8},
        "train": {"max_steps": TOTAL, "batch_size": 3, "log_interval": 1, "eval_interval": 5, "eval_batches": 1,
                  "save_interval": 100, "optim": {name: {"lr": 1e-3} for name in
                                                  ("autoencoder", "classifier", "patcher", "patch_discriminator")}},
    }))
    assert _train(conf, tmp_path / "straight", dump) == 0

    refs: list[bool] = []
    train_step = Disentangle.train_step

    def killed_at_step_3(self: Disentangle, batch: dict[str, torch.Tensor], ctx) -> dict[str, float]:
        refs.append("ref" in batch and batch["ref"].shape == batch["feats"].shape)
        if ctx.step == 3:  # the second classifier step: Ctrl-C saves a checkpoint at step 3
            raise KeyboardInterrupt
        return train_step(self, batch, ctx)

    monkeypatch.setattr(Disentangle, "train_step", killed_at_step_3)
    assert _train(conf, tmp_path / "split", dump) == 130
    assert "interrupted" in capsys.readouterr().err
    monkeypatch.undo()
    assert refs and all(refs)  # the experiment builder asked the loader for reference segments
    assert load_checkpoint(latest_checkpoint(tmp_path / "split" / "checkpoints"))["step"] == 3
    assert _train(conf, tmp_path / "split", dump, "--resume") == 0  # classifier, adversarial, patcher

    straight = load_checkpoint(latest_checkpoint(tmp_path / "straight" / "checkpoints"))
    resumed = load_checkpoint(latest_checkpoint(tmp_path / "split" / "checkpoints"))
    assert straight["step"] == resumed["step"] == TOTAL
    assert any(key.startswith("patcher.") for key in straight["model"])
    for key, value in straight["model"].items():
        torch.testing.assert_close(resumed["model"][key], value, rtol=0, atol=0, msg=key)
    lines = _train_lines(tmp_path / "straight")
    assert lines == _train_lines(tmp_path / "split")
    assert any("patch/g_adv=" in line for line in lines) and any("adv/alpha=" in line for line in lines)
    assert any(line.startswith("valid step=10 ") and "recon_l1_reference=" in line for line in lines)
    assert straight["config"]["model_params"]["num_speakers"] == SPEAKERS


# ---- config errors -------------------------------------------------------------------------------


@pytest.mark.parametrize("overrides, message", [
    ({"decoder": {"factors": [2, 2]}},
     "model_params.decoder.factors: upsample by 4, but the content encoder downsamples by 2"),
    ({"lambda_advv": 1}, "model_params.lambda_advv: unknown key"),
    ({"num_speakers": 1}, "model_params.num_speakers: need at least 2 speakers, got 1"),
    ({"speaker_encoder": "table"}, "model_params.speaker_encoder: 'table' is not one of 'lookup', 'reference', 'both'"),
    ({"adversarial": "gan"}, "model_params.adversarial: 'gan' is not one of 'alternate', 'reverse'"),
    ({"patcher": {"generator": {"code_dim": 8}}},
     "model_params.patcher.generator.code_dim: set from the model, remove it"),
    ({"patcher": {"discriminator": {"num_classes": 3}}},
     "model_params.patcher.discriminator.num_classes: set from num_speakers, remove it"),
    ({"patcher": {"generator": {"factors": [2, 2]}}},
     "model_params.patcher.generator.factors: must upsample by the content encoder's 2"),
    ({"schedule": {"classifier": -1}}, "model_params.schedule.classifier: must be >= 0, got -1"),
    ({"schedule": {"autoencoder": 0, "classifier": 0, "adversarial": 0, "patcher": 0}},
     "model_params.schedule: every phase has 0 steps"),
    ({"schedule": {"phases": 3}}, "model_params.schedule.phases: unknown key"),
    ({"classifier_steps": 0}, "model_params.classifier_steps: must be >= 1, got 0"),
    ({"lambda_adv": -0.1}, "model_params.lambda_adv: must be >= 0, got -0.1"),
    ({"content_encoder": {"chanels": 8}}, r"model_params.content_encoder.chanels: unknown key \(expected one of: "),
    ({"content_encoder": {"factors": []}}, r"model_params.content_encoder: factors needs one factor >= 1"),
    ({"decoder": {"conditioning": "film"}}, "model_params.decoder.conditioning: 'film' is not one of 'adain', 'add', 'concat'"),
    ({"content_encoder": {"channels": 15}}, "model_params.content_encoder: a bidirectional GRU needs an even"),
])
def test_config_errors(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        tiny_model(**overrides)


def test_max_steps_must_equal_the_schedule(tmp_path: Path) -> None:
    model = tiny_model()
    with pytest.raises(ConfigError, match=re.escape(
            "train.max_steps: 12, but model_params.schedule adds up to 10 "
            "(autoencoder 2 + classifier 2 + adversarial 4 + patcher 2); make them equal")):
        Trainer(model, parse_train_config({"max_steps": 12}), tmp_path, [tiny_batch()], device="cpu")
    assert not (tmp_path / "checkpoints").exists()


# ---- the loader --------------------------------------------------------------------------------


@pytest.fixture
def constant_dump(tmp_path: Path) -> FeatureDump:
    """Speaker s, utterance u: every value is 10 s + u, so a segment names its speaker."""
    utts = {f"spk{s}_{u}": (f"spk{s}", np.full((12 + 5 * u, 3), 10.0 * s + u)) for s in range(SPEAKERS)
            for u in range(3)}
    return write_dump(tmp_path / "const", utts, 3)


def test_loader_reference_segments_come_from_the_same_speaker(constant_dump: FeatureDump) -> None:
    speakers = [f"spk{s}" for s in range(SPEAKERS)]
    loader = MultiSpeakerLoader(constant_dump, None, speakers, segment_frames=8, batch_size=5, seed=3,
                                normalize="none", references=True)
    other_utterance = False
    for batch in itertools.islice(loader, 6):
        assert set(batch) == {"feats", "speaker", "target", "ref"}
        assert batch["ref"].shape == batch["feats"].shape == (5, 3, 8) and batch["ref"].dtype == torch.float32
        for feats, ref, spk in zip(batch["feats"], batch["ref"], batch["speaker"].tolist()):
            assert feats.unique().numel() == ref.unique().numel() == 1  # one utterance each
            assert int(feats[0, 0]) // 10 == int(ref[0, 0]) // 10 == spk
            other_utterance |= bool(feats[0, 0] != ref[0, 0])
    assert other_utterance  # drawn independently, not a copy of "feats"
    fixed = loader.fixed_batches(2)
    assert all("ref" in b for b in fixed)


def test_loader_without_references_is_unchanged(constant_dump: FeatureDump) -> None:
    speakers = [f"spk{s}" for s in range(SPEAKERS)]
    common: dict[str, Any] = {"segment_frames": 8, "batch_size": 4, "seed": 5, "normalize": "none"}
    plain = MultiSpeakerLoader(constant_dump, None, speakers, **common)
    default = MultiSpeakerLoader(constant_dump, None, speakers, references=False, **common)
    with_ref = MultiSpeakerLoader(constant_dump, None, speakers, references=True, **common)
    a, b, c = (list(itertools.islice(loader, 5)) for loader in (plain, default, with_ref))
    for x, y, z in zip(a, b, c):
        assert set(x) == set(y) == {"feats", "speaker", "target"}
        for key in x:  # the reference is drawn last: the other keys are the same stream
            assert torch.equal(x[key], y[key]) and torch.equal(x[key], z[key])
    with_ref.set_step(3)
    resumed = next(iter(with_ref))
    assert torch.equal(resumed["ref"], c[3]["ref"]) and torch.equal(resumed["feats"], a[3]["feats"])
