"""Image-to-image translation models (issue 8): CycleGAN, a UNIT-style shared-latent model and StarGAN.

Importing this package registers ``image_cyclegan``, ``image_shared_latent`` and
``image_stargan`` with :func:`vc.models.build_model`, where ``dim`` is the number of image
channels. Images are [B, C, H, W] floats in [-1, 1].
"""

from vc.models.image.base import ImageGANParams, ImageTranslationModel
from vc.models.image.cyclegan import ImageCycleGAN, ImageCycleGANParams
from vc.models.image.shared_latent import ImageSharedLatent, ImageSharedLatentParams
from vc.models.image.stargan import ImageStarGAN, ImageStarGANParams

__all__ = ["ImageCycleGAN", "ImageCycleGANParams", "ImageGANParams", "ImageSharedLatent", "ImageSharedLatentParams",
           "ImageStarGAN", "ImageStarGANParams", "ImageTranslationModel"]
