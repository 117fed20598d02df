"""One sentence per metric for the report's footer. The registry (vc/evaluate/metrics.py) has
titles and units but no prose; these are keyed by its keys, a test checks that every metric
has one, and an unknown key falls back to a sentence built from the registry."""

from __future__ import annotations

from vc.evaluate.metrics import Metric

DESCRIPTIONS: dict[str, str] = {
    "mcd_db": "Mel-cepstral distortion to the target speaker's recording of the same sentence (WORLD "
              "mel-cepstrum, c0 excluded, frames aligned by DTW, silence included): the spectral distance "
              "to the target.",
    "f0_rmse_hz": "Root-mean-square difference of F0 from the target recording, over DTW-aligned frame pairs "
                  "voiced in both.",
    "f0_corr": "Pearson correlation of F0 with the target recording over the same voiced pairs: how well the "
               "intonation contour follows the target's.",
    "vuv_error": "Share of aligned frame pairs where one side is voiced and the other is not.",
    "sim_target": "Cosine similarity of the utterance's speaker embedding (resemblyzer d-vector) to the target "
                  "speaker's mean embedding, leaving the sentence under test out.",
    "sim_source": "The same cosine to the source speaker's mean embedding: a converted voice should move away "
                  "from it.",
    "nearest_correct": "Share of utterances whose nearest speaker among all speakers of the data dir is the "
                       "target.",
    "wer": "Word error rate of an offline recogniser (pocketsphinx en-us) against the transcript; read it "
           "beside the same recogniser's error on the unconverted source.",
    "cer": "Character error rate of the same recogniser against the transcript.",
    "dnsmos_ovrl": "DNSMOS P.835 predicted overall quality (1 to 5), no reference needed.",
    "dnsmos_sig": "DNSMOS P.835 predicted speech-signal quality (1 to 5).",
    "dnsmos_bak": "DNSMOS P.835 predicted background-noise quality (1 to 5; higher is less noise).",
    "dnsmos_p808": "DNSMOS P.808 predicted mean opinion score (1 to 5).",
}


def describe(metric: Metric) -> str:
    return DESCRIPTIONS.get(metric.key, f"{metric.title}" + (f" in {metric.unit}" if metric.unit else "")
                            + f"; {metric.better} is better.")
