"""The one generic training loop: device, AMP, DDP, optimisers, schedules, EMA, logs, checkpoints."""

from __future__ import annotations

import contextlib
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any, ContextManager, Iterable, Iterator

import matplotlib
import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.optim.lr_scheduler import LambdaLR
from tqdm import tqdm

from vc.config import save_yaml, to_dict
from vc.device import cpu_has_fast_bf16, resolve_device
from vc.errors import DataError
from vc.train.checkpoint import (
    checkpoint_path,
    get_rng_state,
    latest_checkpoint,
    load_checkpoint,
    save_checkpoint,
    seed_everything,
    set_rng_state,
)
from vc.train.config import OptimizerConfig, TrainConfig
from vc.train.ema import EMA
from vc.train.model import TrainableModel
from vc.train.preemption import Preempted, StopSignals
from vc.utils import remove_stale_temps
from vc.version import __version__

Batch = dict[str, torch.Tensor]

# Offsets that keep the loader's random stream and other ranks' streams apart from rank 0's.
_LOADER_SEED_OFFSET = 7919
_RANK_SEED_STRIDE = 1_000_003


class Trainer:
    """Runs ``model.train_step`` for ``config.max_steps`` steps and owns everything around it.

    **Gradients between groups.** ``ctx.update(group, loss)`` clears the gradients of *every*
    group, back-propagates ``loss``, steps ``group``'s optimiser, then clears every group's
    gradients again. A loss that flows through another group's network (a generator loss
    through the discriminator) therefore never reaches that group's parameters or its next
    update, and no gradient outlives the update that made it.

    **Data on resume.** The training loader is iterated as often as needed (a finite loader
    starts a new pass when it ends). Each time the trainer starts iterating it, it first
    calls ``train_loader.set_step(step)`` if the loader has that method, with the global
    step of the next batch it will take; the loader must then yield the batches that an
    uninterrupted run would have seen from that step on (derive each batch's randomness
    from (seed, step), as :mod:`vc.data.unpaired` does). A loader without ``set_step``
    restarts from its beginning on resume. The loader runs on its own Python/numpy/torch
    random stream, so creating its iterator at resume time (a DataLoader draws a seed)
    never shifts the stream the model's ``train_step`` sees: with a ``set_step`` loader, a
    resumed run is bit-identical to an uninterrupted one on CPU.

    **DDP.** Under torchrun (``WORLD_SIZE`` > 1) or with ``torch.distributed`` initialised,
    every network in ``optimizer_groups()`` is wrapped in DistributedDataParallel in place
    (the model attribute is replaced, so ``train_step`` calls the wrapper) and only rank 0
    logs, evaluates and saves. Each rank should get its own share of the data. Checkpoints
    hold the unwrapped model's state, so their keys do not depend on DDP.
    """

    def __init__(
        self,
        model: TrainableModel,
        config: TrainConfig,
        exp_dir: str | Path,
        train_loader: Iterable[Batch],
        valid_loader: Iterable[Batch] | None = None,
        device: str | torch.device = "auto",
        experiment_config: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None,
        description: str | None = None,
    ) -> None:
        config.check()
        model.check_train_config(config)
        self.model = model
        self.config = config
        self.exp_dir = Path(exp_dir)
        self.train_loader = train_loader
        self.valid_loader = valid_loader
        self.experiment_config = experiment_config if experiment_config is not None else {"train": to_dict(config)}
        self.extra = extra or {}
        self.description = description  # a line about the model for the log, e.g. its size
        self.step = 0  # number of completed steps

        self._owns_process_group = _init_distributed(device)
        self.rank = dist.get_rank() if dist.is_initialized() else 0
        self.world_size = dist.get_world_size() if dist.is_initialized() else 1
        self.is_main = self.rank == 0
        self.device = resolve_device(device, int(os.environ.get("LOCAL_RANK", self.rank)))
        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)
        model.to(self.device)

        self.amp_dtype = _amp_dtype(config, self.device)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.amp_dtype == torch.float16)

        groups = model.optimizer_groups()
        self.optim_configs = config.optimizers_for(list(groups))
        self.group_params = _group_parameters(groups)
        self.optimizers = {name: _make_optimizer(self.group_params[name], cfg)
                           for name, cfg in self.optim_configs.items()}
        self.schedulers = {name: _make_scheduler(self.optimizers[name], cfg, config.max_steps)
                           for name, cfg in self.optim_configs.items()}
        self._wrapped = _wrap_ddp(model, groups, self.device) if dist.is_initialized() else {}
        self.ema: EMA | None = None
        self._iterator: Iterator[Batch] | None = None
        self._loader_rng: dict[str, Any] = {}
        self._saved_at = -1  # the step of the last checkpoint written by this run

    # ---- the loop -------------------------------------------------------------------------

    def fit(self, resume: bool = False) -> None:
        """Train to ``config.max_steps``; with ``resume`` continue from the latest checkpoint."""
        self.model.train()
        # A kill during an atomic write leaves its temporary file; this experiment is ours alone.
        stale = remove_stale_temps(self.exp_dir, self.exp_dir / "checkpoints") if self.is_main else []
        if resume:
            self._resume()
        else:
            self._fresh_start()
        if self.is_main:
            save_yaml({**self.experiment_config, "vc_version": __version__}, self.exp_dir / "config.yaml")
        log = _RankZeroLog(self.exp_dir, enabled=self.is_main)
        log.line(f"{'resumed at' if resume else 'starting at'} step {self.step} of {self.config.max_steps} "
                 f"on {self.device} (world size {self.world_size}, amp {self.amp_dtype or 'off'})")
        if self.description:
            log.line(self.description)
        if stale:
            log.line(f"removed {len(stale)} temporary file{'s' if len(stale) > 1 else ''} an interrupted write left "
                     f"behind: {', '.join(str(p.relative_to(self.exp_dir)) for p in stale)}")
        self._saved_at = self.step if resume else -1
        try:
            with log, StopSignals() as signals:
                self._loop(log, signals)
        except KeyboardInterrupt:
            if self.is_main and self._saved_at != self.step:
                path = self._save()
                print(f"\ninterrupted: saved {path}", file=sys.stderr)
            raise
        else:
            if self.is_main and self._saved_at != self.step:
                self._save()
            if self._owns_process_group:
                dist.barrier()  # the other ranks wait for rank 0's final save
        finally:
            if self._owns_process_group and dist.is_initialized():
                dist.destroy_process_group()

    def _loop(self, log: _RankZeroLog, signals: StopSignals) -> None:
        cfg = self.config
        bar = tqdm(total=cfg.max_steps, initial=self.step, dynamic_ncols=True,
                   disable=not (self.is_main and sys.stderr.isatty()))
        window: dict[str, list[float]] = {}
        window_start, window_steps = time.perf_counter(), 0
        with bar:
            while self.step < cfg.max_steps:
                lrs = {name: opt.param_groups[0]["lr"] for name, opt in self.optimizers.items()}
                logs = self.train_one(self._next_batch())
                self.step += 1
                window_steps += 1
                for key, value in logs.items():
                    window.setdefault(key, []).append(float(value))
                bar.update(1)
                bar.set_postfix({k: f"{v:.4g}" for k, v in logs.items()}, refresh=False)
                if self.step % cfg.log_interval == 0 or self.step == cfg.max_steps:
                    rate = window_steps / max(time.perf_counter() - window_start, 1e-9)
                    log.train(self.step, {k: float(np.mean(v)) for k, v in window.items()}, lrs, rate)
                    window, window_start, window_steps = {}, time.perf_counter(), 0
                if self.valid_loader is not None and self.step % cfg.eval_interval == 0 and self.is_main:
                    self._evaluate(log)
                if self.step % cfg.save_interval == 0 and self.is_main:
                    self._save()
                if self._stop_requested(signals):
                    self._stop(log, signals)

    def _stop_requested(self, signals: StopSignals) -> bool:
        """Whether a stop signal arrived; under DDP whether any rank got one, so that every
        rank stops after the same step (a rank going on alone would wait forever)."""
        stop = signals.received is not None
        if self.world_size > 1:
            flag = torch.tensor([float(stop)], device=self.device)
            dist.all_reduce(flag, op=dist.ReduceOp.MAX)
            stop = bool(flag.item())
        return stop

    def _stop(self, log: _RankZeroLog, signals: StopSignals) -> None:
        """The step is complete: checkpoint it and raise Preempted (exit status 75)."""
        if self.is_main and self._saved_at != self.step:
            self._save()
        if self._owns_process_group:
            dist.barrier()  # the other ranks wait for rank 0's save
        name = signals.received.name if signals.received is not None else "a signal on another rank"
        message = (f"stopped by {name} after step {self.step}: saved "
                   f"{checkpoint_path(self.exp_dir / 'checkpoints', self.step)}; continue with --resume")
        log.line(message)
        raise Preempted(message)

    def train_one(self, batch: Batch) -> dict[str, float]:
        """One iteration (train_step, schedulers, EMA) without logging or saving; fit() and the benchmarks use it."""
        logs = self.model.train_step(_to_device(batch, self.device), _Context(self))
        with warnings.catch_warnings():
            # A group idle in this step (a phase that trains other networks) has not stepped
            # its optimiser yet; its schedule still follows the global step, as intended.
            warnings.filterwarnings("ignore", message="Detected call of `lr_scheduler.step")
            for scheduler in self.schedulers.values():
                scheduler.step()
        if self.ema is not None:
            self.ema.update()
        return logs

    def _next_batch(self) -> Batch:
        for attempt in range(2):
            with self._loader_stream():
                if self._iterator is None:
                    if hasattr(self.train_loader, "set_step"):
                        self.train_loader.set_step(self.step)
                    self._iterator = iter(self.train_loader)
                try:
                    return next(self._iterator)
                except StopIteration:
                    self._iterator = None  # end of a pass over a finite loader: start the next
        raise DataError("the training loader yields no batches")

    @contextlib.contextmanager
    def _loader_stream(self) -> Iterator[None]:
        """Run the loader on its own random stream, leaving the model's untouched."""
        model_state = get_rng_state(cuda=False)
        set_rng_state(self._loader_rng)
        try:
            yield
        finally:
            self._loader_rng = get_rng_state(cuda=False)
            set_rng_state(model_state)

    # ---- evaluation -----------------------------------------------------------------------

    def _evaluate(self, log: _RankZeroLog) -> None:
        sums: dict[str, float] = {}
        n = 0
        self.model.eval()
        with self._unwrapped(), torch.no_grad():
            for i, batch in zip(range(self.config.eval_batches), self.valid_loader):
                batch = _to_device(batch, self.device)
                for key, value in self.model.validation_step(batch).items():
                    sums[key] = sums.get(key, 0.0) + float(value)
                n += 1
                if i == 0:
                    for name, feat in self.model.visuals(batch).items():
                        log.image(f"visuals/{name}", feature_image(feat), self.step)
        self.model.train()
        if n:
            log.valid(self.step, {k: v / n for k, v in sums.items()})

    # ---- state ----------------------------------------------------------------------------

    def _fresh_start(self) -> None:
        seed = self.config.seed + self.rank * _RANK_SEED_STRIDE
        seed_everything(seed + _LOADER_SEED_OFFSET)
        self._loader_rng = get_rng_state(cuda=False)
        seed_everything(seed)
        self.step = 0
        self._start_ema(None)

    def _resume(self) -> None:
        path = latest_checkpoint(self.exp_dir / "checkpoints")
        if path is None:
            raise DataError(f"{self.exp_dir / 'checkpoints'}: no checkpoint to resume from "
                            "(train without --resume to start afresh)")
        state = load_checkpoint(path, map_location=self.device)
        try:
            self._load_state(state)
        except (KeyError, ValueError, RuntimeError) as e:
            raise DataError(f"{path}: does not match this model or config ({str(e).splitlines()[0]})") from None

    def _load_state(self, state: dict[str, Any]) -> None:
        with self._unwrapped():
            self.model.load_state_dict(state["model"])
        for kind, targets in (("optimizers", self.optimizers), ("schedulers", self.schedulers)):
            if set(state[kind]) != set(targets):
                raise KeyError(f"{kind} {sorted(state[kind])} vs the model's groups {sorted(targets)}")
            for name, target in targets.items():
                target.load_state_dict(state[kind][name])
        if state["scaler"] and self.scaler.is_enabled():
            self.scaler.load_state_dict(state["scaler"])
        self._start_ema(state.get("ema") or None)
        self.step = int(state["step"])
        self._loader_rng = state["loader_rng"]
        set_rng_state(state["rng"])
        if self.rank:  # only rank 0's streams are saved; the others re-derive theirs
            seed_everything(self.config.seed + self.rank * _RANK_SEED_STRIDE + self.step)

    def _start_ema(self, state: dict[str, Any] | None) -> None:
        names = self.model.ema_networks()
        if self.config.ema_decay is None or not names:
            self.ema = None
            return
        with self._unwrapped():
            self.ema = EMA({name: getattr(self.model, name) for name in names}, self.config.ema_decay)
        if state is not None:  # without it (EMA switched on at resume) the shadows start here
            self.ema.load_state_dict(state)

    def state_dict(self) -> dict[str, Any]:
        """Everything a checkpoint holds (see docs/training.md)."""
        with self._unwrapped():
            model_state = self.model.state_dict()
        return {
            "step": self.step,
            "model": model_state,
            "optimizers": {name: opt.state_dict() for name, opt in self.optimizers.items()},
            "schedulers": {name: sch.state_dict() for name, sch in self.schedulers.items()},
            "scaler": self.scaler.state_dict(),
            "ema": self.ema.state_dict() if self.ema is not None else {},
            "rng": get_rng_state(),
            "loader_rng": self._loader_rng,
            "config": self.experiment_config,
            "train_config": to_dict(self.config),
            "extra": self.extra,
            "vc_version": __version__,
        }

    def _save(self) -> Path:
        self._saved_at = self.step
        return save_checkpoint(self.exp_dir / "checkpoints", self.step, self.state_dict(), self.config.keep_last)

    @contextlib.contextmanager
    def _unwrapped(self) -> Iterator[None]:
        """Put the plain networks back on the model (for state dicts and single-rank eval)."""
        for name, ddp in self._wrapped.items():
            setattr(self.model, name, ddp.module)
        try:
            yield
        finally:
            for name, ddp in self._wrapped.items():
                setattr(self.model, name, ddp)


class _Context:
    """The StepContext handed to ``train_step``."""

    def __init__(self, trainer: Trainer) -> None:
        self._trainer = trainer
        self.step = trainer.step
        self.device = trainer.device

    def autocast(self) -> ContextManager:
        dtype = self._trainer.amp_dtype
        return torch.autocast(self.device.type, dtype=dtype, enabled=dtype is not None)

    @contextlib.contextmanager
    def only(self, group: str) -> Iterator[None]:
        t = self._trainer
        if group not in t.group_params:
            raise KeyError(f"only('{group}'): the model declares no such optimizer group "
                           f"(it has: {', '.join(t.group_params)})")
        others = [] if dist.is_initialized() else [
            p for name, params in t.group_params.items() if name != group for p in params if p.requires_grad]
        for p in others:
            p.requires_grad_(False)
        try:
            yield
        finally:
            for p in others:
                p.requires_grad_(True)

    def update(self, group: str | tuple[str, ...], loss: torch.Tensor) -> None:
        t = self._trainer
        groups = (group,) if isinstance(group, str) else tuple(group)
        for name in groups:
            if name not in t.optimizers:
                raise KeyError(f"update('{name}'): the model declares no such optimizer group "
                               f"(it has: {', '.join(t.optimizers)})")
        _zero_all(t.optimizers)
        t.scaler.scale(loss).backward()
        for name in groups:
            t.scaler.unscale_(t.optimizers[name])
            if t.config.grad_clip is not None:
                torch.nn.utils.clip_grad_norm_(t.group_params[name], t.config.grad_clip)
        for name in groups:
            t.scaler.step(t.optimizers[name])
        # Per update rather than per iteration: a group may be updated twice in one step,
        # and unscale_ may run only once between two scaler updates.
        t.scaler.update()
        _zero_all(t.optimizers)


def _zero_all(optimizers: dict[str, torch.optim.Optimizer]) -> None:
    for optimizer in optimizers.values():
        optimizer.zero_grad(set_to_none=True)


# ---- construction helpers -------------------------------------------------------------------


def _init_distributed(device: str | torch.device) -> bool:
    """Start the process group under torchrun; True when this call started it."""
    if dist.is_initialized() or int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return False
    on_cuda = torch.cuda.is_available() and str(device) != "cpu"
    dist.init_process_group("nccl" if on_cuda else "gloo")
    return True


def _amp_dtype(config: TrainConfig, device: torch.device) -> torch.dtype | None:
    if device.type == "cpu":
        # Without native bf16 (AVX512-BF16/AMX) oneDNN emulates it, slower than fp32: stay in fp32.
        return torch.bfloat16 if config.cpu_bf16 and cpu_has_fast_bf16() else None
    if not config.amp or device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def _group_parameters(groups: dict[str, list[nn.Module]]) -> dict[str, list[nn.Parameter]]:
    owner: dict[int, str] = {}
    params: dict[str, list[nn.Parameter]] = {}
    for name, nets in groups.items():
        params[name] = []
        for p in (p for net in nets for p in net.parameters() if p.requires_grad):
            if id(p) in owner:
                if owner[id(p)] != name:
                    raise ValueError(f"a parameter belongs to both optimizer groups '{owner[id(p)]}' and '{name}'")
                continue
            owner[id(p)] = name
            params[name].append(p)
        if not params[name]:
            raise ValueError(f"optimizer group '{name}' has no trainable parameters")
    return params


def _make_optimizer(params: list[nn.Parameter], cfg: OptimizerConfig) -> torch.optim.Optimizer:
    if cfg.weight_decay > 0:
        return torch.optim.AdamW(params, lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay)
    return torch.optim.Adam(params, lr=cfg.lr, betas=cfg.betas)


def _make_scheduler(optimizer: torch.optim.Optimizer, cfg: OptimizerConfig, max_steps: int) -> LambdaLR:
    # LambdaLR's epoch counter is our step: it steps once per iteration after train_step.
    return LambdaLR(optimizer, lambda step: cfg.lr_factor(step, max_steps))


def _wrap_ddp(model: nn.Module, groups: dict[str, list[nn.Module]],
              device: torch.device) -> dict[str, DistributedDataParallel]:
    """Replace each group network attribute of ``model`` by its DDP wrapper."""
    children = {id(module): name for name, module in model.named_children()}
    wrapped: dict[str, DistributedDataParallel] = {}
    for group, nets in groups.items():
        for net in nets:
            name = children.get(id(net))
            if name is None:
                raise ValueError(f"optimizer group '{group}': every network must be a direct child "
                                 f"module of the model to be wrapped for DDP")
            if name in wrapped or not any(p.requires_grad for p in net.parameters()):
                continue
            ids = [device.index] if device.type == "cuda" else None
            wrapped[name] = DistributedDataParallel(net, device_ids=ids)
            setattr(model, name, wrapped[name])
    return wrapped


def _to_device(batch: Batch, device: torch.device) -> Batch:
    return {k: v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}


def feature_image(feat: torch.Tensor) -> np.ndarray:
    """A [dim, frames] map as an HWC uint8 RGB image, low dims at the bottom, min-max scaled."""
    a = feat.detach().float().cpu()
    a = a.reshape(-1, a.shape[-1]) if a.dim() != 2 else a
    a = (a - a.min()) / (a.max() - a.min()).clamp_min(1e-12)
    rgb = matplotlib.colormaps["viridis"](a.flip(0).numpy())[..., :3]
    return (rgb * 255).round().astype(np.uint8)


# ---- logging ---------------------------------------------------------------------------------


class _RankZeroLog:
    """``log/train.log`` lines and TensorBoard events, written by rank 0 only."""

    def __init__(self, exp_dir: Path, enabled: bool) -> None:
        self.enabled = enabled
        self._file = None
        self._writer = None
        if enabled:
            from torch.utils.tensorboard import SummaryWriter  # slow import: only where used

            (exp_dir / "log").mkdir(parents=True, exist_ok=True)
            self._file = open(exp_dir / "log" / "train.log", "a", buffering=1)
            self._writer = SummaryWriter(str(exp_dir / "tensorboard"))

    def __enter__(self) -> _RankZeroLog:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self._writer.close()
            self._file.close()

    def line(self, text: str) -> None:
        if self.enabled:
            self._file.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {text}\n")

    def train(self, step: int, losses: dict[str, float], lrs: dict[str, float], rate: float) -> None:
        if not self.enabled:
            return
        for key, value in losses.items():
            self._writer.add_scalar(f"train/{key}", value, step)
        for group, lr in lrs.items():
            self._writer.add_scalar(f"lr/{group}", lr, step)
        self._writer.add_scalar("train/steps_per_sec", rate, step)
        fields = [f"{k}={v:.6g}" for k, v in losses.items()] + [f"lr.{g}={lr:.4g}" for g, lr in lrs.items()]
        self.line(f"step={step} " + " ".join(fields) + f" it/s={rate:.2f}")

    def valid(self, step: int, metrics: dict[str, float]) -> None:
        if not self.enabled:
            return
        for key, value in metrics.items():
            self._writer.add_scalar(f"valid/{key}", value, step)
        self.line(f"valid step={step} " + " ".join(f"{k}={v:.6g}" for k, v in metrics.items()))

    def image(self, tag: str, image: np.ndarray, step: int) -> None:
        if self.enabled:
            self._writer.add_image(tag, image, step, dataformats="HWC")
