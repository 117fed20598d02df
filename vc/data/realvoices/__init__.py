"""Real human voices from Debian packages: Asterisk's prompts and Fish Fillets NG's dialogue."""

from vc.data.realvoices.build import MIN_SPEECH_S, RealVoicesSummary, build_realvoices
from vc.data.realvoices.speakers import SPEAKERS, Speaker

__all__ = ["MIN_SPEECH_S", "RealVoicesSummary", "SPEAKERS", "Speaker", "build_realvoices"]
