"""Audio: wav I/O and validation, resampling, STFT/mel features, WORLD, statistics, F0 conversion."""

from vc.audio.config import FeatureConfig, WorldConfig

__all__ = ["FeatureConfig", "WorldConfig"]
