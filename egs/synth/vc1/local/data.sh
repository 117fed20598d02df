#!/usr/bin/env bash
# Corpus-specific data preparation for the synthetic corpus:
#   stage 0: synthesize the corpus (non-parallel training speech + a parallel eval set)
#   stage 1: split into data/train and data/dev (last utterances of each speaker) and data/eval;
#            --heldout_spks speakers stay out of train/dev: their non-parallel speech goes to
#            data/heldout (one-shot reference recordings), their parallel speech to data/eval;
#            --n_heldout_generated K adds the corpus's last K generated speakers to them, and
#            the WORLD-derived voices of held-out speakers (wd_<spk>_*) always join them
set -euo pipefail

stage=0
stop_stage=1
corpus=corpus       # where the corpus is built
data=data           # where the data dirs go
n_speakers=4        # the first N voices: 14 canonical ones, then generated ones (vc corpus voices)
n_utts=20           # non-parallel utterances per speaker
n_eval=5            # parallel sentences per speaker (the eval set)
n_dev=2             # of the n_utts, held out per speaker for dev
heldout_spks=""     # speakers kept out of training (space-separated), for one-shot conversion
n_heldout_generated=0  # also keep the last K generated speakers out of training
seed=1
nj=2
help_message="Usage: $0 [--stage 0] [--stop_stage 1] [--n_speakers 4] [--n_utts 20] [--n_eval 5] [--n_dev 2] [--seed 1]
                [--heldout_spks \"spk1 spk2\"] [--n_heldout_generated 0] [--nj 2]"

. utils/parse_options.sh

if [ "$stage" -le 0 ] && [ "$stop_stage" -ge 0 ]; then
  echo "local/data.sh stage 0: synthesize $n_speakers speakers x $n_utts utterances (+ $n_eval parallel)"
  vc corpus synth --out "$corpus" --speakers "$n_speakers" --utts "$n_utts" --eval-utts "$n_eval" \
    --seed "$seed" --nj "$nj"
fi

if [ "$stage" -le 1 ] && [ "$stop_stage" -ge 1 ]; then
  echo "local/data.sh stage 1: train/dev/eval split"
  mkdir -p "$data"
  case "$n_heldout_generated" in
    '' | *[!0-9]*) echo "$0: --n_heldout_generated must be a whole number, got '$n_heldout_generated'" >&2; exit 1 ;;
  esac
  if [ "$n_heldout_generated" -gt 0 ]; then
    generated=$(vc corpus voices --speakers "$n_speakers" --generated --ids | tail -n "$n_heldout_generated" | xargs)
    n_generated=$(echo "$generated" | wc -w)
    if [ "$n_generated" -ne "$n_heldout_generated" ]; then
      echo "$0: --n_heldout_generated $n_heldout_generated: the corpus has only $n_generated generated" \
        "speakers (--n_speakers $n_speakers; the first 14 are canonical)" >&2
      exit 1
    fi
    heldout_spks=$(echo $heldout_spks $generated)
    echo "local/data.sh: also holding out $generated"
  fi
  # Held-out speakers' utterances, then dev: the last n_dev utterances of each other
  # speaker; the rest is train. Still non-parallel.
  for spk in $heldout_spks; do
    grep -q "^$spk " "$corpus/nonparallel/spk2utt" || { echo "$0: --heldout_spks $spk: not a corpus speaker" >&2; exit 1; }
  done
  # A WORLD-derived voice of a held-out speaker (wd_<spk>_...) is the same person at another
  # pitch and vocal-tract length: it stays out of training too, or one-shot is not one-shot.
  derived=$(for spk in $heldout_spks; do
              awk -v p="wd_${spk}_" 'index($1, p) == 1 {print $1}' "$corpus/nonparallel/spk2utt"; done | xargs)
  if [ -n "$derived" ]; then
    heldout_spks=$(echo $heldout_spks $derived)
    echo "local/data.sh: also holding out $derived (derived from held-out voices)"
  fi
  awk -v held="$heldout_spks" 'BEGIN {n = split(held, h, " "); for (i = 1; i <= n; i++) out[h[i]] = 1}
       $2 in out {print $1}' "$corpus/nonparallel/utt2spk" | sort > "$data/heldout.list"
  awk -v n="$n_dev" '{for (i = NF - n + 1; i <= NF; i++) if (i > 1) print $i}' \
    "$corpus/nonparallel/spk2utt" | sort | comm -23 - "$data/heldout.list" > "$data/dev.list"
  awk '{print $1}' "$corpus/nonparallel/utt2spk" | sort | comm -23 - "$data/dev.list" \
    | comm -23 - "$data/heldout.list" > "$data/train.list"
  vc data subset "$corpus/nonparallel" "$data/train" --utts "$data/train.list"
  vc data subset "$corpus/nonparallel" "$data/dev" --utts "$data/dev.list"
  vc data subset "$corpus/parallel" "$data/eval" --utts "$corpus/parallel/utt2spk"
  sets="train dev eval"
  if [ -n "$heldout_spks" ]; then
    vc data subset "$corpus/nonparallel" "$data/heldout" --utts "$data/heldout.list"
    sets="$sets heldout"
  fi
  rm "$data/train.list" "$data/dev.list" "$data/heldout.list"
  for set in $sets; do vc data validate "$data/$set"; done
fi
