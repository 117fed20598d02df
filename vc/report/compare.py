"""Group results into comparisons (one source speaker -> one target speaker) and order
their rows: the unconverted source (lower bound), the source copy-synthesised (vocoder
bound), the systems, the target copy-synthesised, the target's recordings (upper bound)."""

from __future__ import annotations

from dataclasses import dataclass

from vc.evaluate.kinds import KINDS
from vc.report.results import Result


@dataclass
class Comparison:
    src_spk: str
    tgt_spk: str
    results: list[Result]  # references and systems, by kind (KINDS), each kind in command-line order

    @property
    def title(self) -> str:
        return f"{self.src_spk} -> {self.tgt_spk}"

    @property
    def utts(self) -> list[str]:
        """Source utterances scored by every result of the comparison, sorted."""
        common = set.intersection(*({s.utt for s in r.scores} for r in self.results))
        return sorted(common)

    @property
    def n_sentences(self) -> int:
        """Source sentences any result scored (usually all score the same ones)."""
        return len(set().union(*({s.utt for s in r.scores} for r in self.results)))

    @property
    def parallel(self) -> bool:
        """Whether the target's rows say the source's sentences (every result's eval set was parallel)."""
        return all(r.parallel for r in self.results)

    def scope(self, every_row: str = "in every row") -> str:
        """What the rows were scored on: 'n=5 parallel sentences', or the non-parallel note."""
        n, common = self.n_sentences, len(self.utts)
        kind = "parallel sentences" if self.parallel else "source sentences, non-parallel"
        scope = f"n={n} {kind}" + (f", {common} {every_row}" if common != n else "")
        if not self.parallel:
            scope += ("; the target's rows say other sentences, so MCD and F0 (which need the same sentence) "
                      "are not measured")
        return scope

    def examples(self, count: int) -> list[str]:
        return self.utts[:count]


def group_results(results: list[Result]) -> list[Comparison]:
    """Comparisons in order of first appearance; within one, rows by kind then command-line order."""
    groups: dict[tuple[str, str], list[Result]] = {}
    for result in results:
        groups.setdefault(result.comparison, []).append(result)
    # sorted() is stable, so results of the same kind keep their command-line order.
    return [Comparison(src, tgt, sorted(members, key=lambda r: KINDS.index(r.kind)))
            for (src, tgt), members in groups.items()]
