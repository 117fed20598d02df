"""The objective metrics `vc evaluate` writes and `vc report` shows: one registry, so the CSV
columns, the summary keys and the report's table headers cannot drift apart."""

from __future__ import annotations

import math
from dataclasses import dataclass

MISSING = "—"  # how an uncomputed or undefined (NaN) value reads


@dataclass(frozen=True)
class Metric:
    key: str  # column in scores.csv, key in summary.json's "metrics"
    title: str  # short table header
    unit: str  # "" when unitless
    better: str  # "lower" or "higher"
    digits: int  # decimals shown
    group: str  # the evaluator that computes it (--metrics names groups)
    percent: bool = False  # a rate in [0, 1], shown as a percentage

    def format(self, value: float | None) -> str:
        """The value as tables show it: fixed decimals, rates in percent, without the unit."""
        if value is None or not math.isfinite(value):
            return MISSING
        return f"{value * 100 if self.percent else value:.{self.digits}f}"


METRICS: tuple[Metric, ...] = (
    Metric("mcd_db", "MCD", "dB", "lower", 2, "mcd"),
    Metric("f0_rmse_hz", "F0 RMSE", "Hz", "lower", 1, "f0"),
    Metric("f0_corr", "F0 corr.", "", "higher", 2, "f0"),
    Metric("vuv_error", "V/UV err.", "%", "lower", 1, "f0", percent=True),
    Metric("sim_target", "Sim. to target", "cos", "higher", 3, "speaker"),
    Metric("sim_source", "Sim. to source", "cos", "lower", 3, "speaker"),
    Metric("nearest_correct", "Nearest spk. acc.", "%", "higher", 1, "speaker", percent=True),
    Metric("wer", "WER", "%", "lower", 1, "asr", percent=True),
    Metric("cer", "CER", "%", "lower", 1, "asr", percent=True),
    Metric("dnsmos_ovrl", "DNSMOS OVRL", "", "higher", 2, "mos"),
    Metric("dnsmos_sig", "DNSMOS SIG", "", "higher", 2, "mos"),
    Metric("dnsmos_bak", "DNSMOS BAK", "", "higher", 2, "mos"),
    Metric("dnsmos_p808", "DNSMOS P.808", "", "higher", 2, "mos"),
)
METRIC_BY_KEY = {m.key: m for m in METRICS}
GROUPS: tuple[str, ...] = tuple(dict.fromkeys(m.group for m in METRICS))
# The columns of the summary table the recipe prints (the report shows them all).
SUMMARY_KEYS: tuple[str, ...] = ("mcd_db", "f0_rmse_hz", "sim_target", "sim_source", "nearest_correct", "wer",
                                 "dnsmos_ovrl")
