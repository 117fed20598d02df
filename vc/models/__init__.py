"""Models, one file per family, each registered by name (see registry.py)."""

from vc.models import cyclegan_vc, disentangle, stargan_vc
from vc.models.registry import MODELS, build_model, register_model

__all__ = ["MODELS", "build_model", "register_model", "cyclegan_vc", "disentangle", "stargan_vc"]
