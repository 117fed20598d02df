"""Models, one file per family, each registered by name (see registry.py).

The neural vocoders live in vc.vocoders but train through the same registry and trainer.
"""

from vc.models import cyclegan_vc, disentangle, image, phone_recognizer, stargan_vc
from vc.models.registry import MODELS, build_model, register_model
from vc.vocoders import parallel_wavenet, wavenet

__all__ = ["MODELS", "build_model", "register_model", "cyclegan_vc", "disentangle", "image", "parallel_wavenet",
           "phone_recognizer", "stargan_vc", "wavenet"]
