"""What the image models share: the common ``model_params``, input checks, describe, visuals."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from vc.config import NonNegativeInt, PositiveInt
from vc.errors import ConfigError
from vc.models.image.blocks import max_patch_layers, patch_field, patch_layers
from vc.train.model import TrainableModel

DIRECTIONS = ("xy", "yx")


@dataclass(kw_only=True)
class ImageGANParams:
    """``model_params`` every image model has; the models add their own after these.

    Square images of side ``image_size``. The generators start with ``ngf`` channels and
    halve the resolution ``n_down`` times (so image_size must be divisible by 2**n_down),
    doubling the width each time; ``n_blocks`` residual blocks work at the lowest
    resolution. The PatchGAN starts with ``ndf`` channels; ``n_layers`` (stride-2 layers)
    None picks it from image_size (see each model).
    """

    image_size: PositiveInt = 32
    ngf: PositiveInt = 64
    n_down: NonNegativeInt = 2
    n_blocks: NonNegativeInt = 6
    ndf: PositiveInt = 64
    n_layers: int | None = None
    gan_loss: str = "lsgan"

    def __post_init__(self) -> None:
        factor = 2**self.n_down
        if self.image_size % factor:
            raise ConfigError(f"model_params.image_size: {self.image_size} is not divisible by {factor}, the "
                              f"generator's downsampling (n_down {self.n_down} stride-2 convs)")
        most = max_patch_layers(self.image_size)
        if most < 1:
            raise ConfigError(f"model_params.image_size: {self.image_size} is too small for the PatchGAN (>= 6)")
        if self.n_layers is not None and not 1 <= self.n_layers <= most:
            raise ConfigError(f"model_params.n_layers: {self.n_layers} is out of range: {self.image_size}x"
                              f"{self.image_size} images allow 1 to {most} stride-2 PatchGAN layers")


class ImageTranslationModel(TrainableModel):
    """Base of the image models: ``channels`` (the registry's ``dim``) and typed ``params``.

    ``patch_fraction``: the default PatchGAN covers this fraction of the image side
    (:func:`~vc.models.image.blocks.patch_layers`); ``data_layout`` tells the image
    experiment which loader feeds the model.
    """

    Params: type[ImageGANParams]
    data_layout: str
    patch_fraction: float = 0.5

    def __init__(self, channels: int, params: ImageGANParams) -> None:
        super().__init__()
        if channels < 1:
            raise ConfigError(f"model: image channels must be >= 1, got {channels}")
        self.channels = channels
        self.params = params
        self.n_layers = params.n_layers or patch_layers(params.image_size, self.patch_fraction)

    def check_images(self, images: torch.Tensor) -> None:
        """ValueError unless ``images`` is [B, channels, H, W] with H, W divisible by 2**n_down."""
        factor = 2**self.params.n_down
        if images.dim() != 4 or images.shape[1] != self.channels:
            raise ValueError(f"expected images [B, {self.channels}, H, W], got shape {tuple(images.shape)}")
        if images.shape[2] % factor or images.shape[3] % factor:
            raise ValueError(f"image height and width must be divisible by {factor}, got "
                             f"{images.shape[2]}x{images.shape[3]}")

    def parameter_counts(self) -> dict[str, int]:
        """Optimizer group -> its number of parameters."""
        return {group: sum(p.numel() for net in nets for p in net.parameters())
                for group, nets in self.optimizer_groups().items()}

    def describe(self, cfg: Any = None) -> str:
        counts = self.parameter_counts()
        field = patch_field(self.n_layers)
        size = self.params.image_size
        return (f"{type(self).__name__}: {sum(counts.values()) / 1e6:.2f} M parameters ("
                + ", ".join(f"{group} {n / 1e6:.2f} M" for group, n in counts.items())
                + f"); {size}x{size} images, PatchGAN with {self.n_layers} stride-2 "
                f"layer{'s' if self.n_layers > 1 else ''}, receptive field {field}x{field}")


def check_direction(direction: str) -> None:
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be 'xy' or 'yx', got {direction!r}")


def image_strip(*images: torch.Tensor) -> torch.Tensor:
    """The first image of each [B, C, H, W] batch side by side: one [H, k * W] map (channel mean).

    Rows are flipped because the trainer's feature_image draws row 0 at the bottom (the low
    bins of a spectrogram); flipped, TensorBoard shows the images upright.
    """
    return torch.cat([x[0].float().mean(dim=0) for x in images], dim=1).flip(0)
