"""The offline synthetic multi-speaker corpus built with Debian's speech synthesizers."""

from vc.data.synth.builder import CorpusSummary, build_corpus
from vc.data.synth.grammar import generate_sentences
from vc.data.synth.roster import select_speakers
from vc.data.synth.voices import SPEAKERS, Speaker

__all__ = ["CorpusSummary", "SPEAKERS", "Speaker", "build_corpus", "generate_sentences", "select_speakers"]
