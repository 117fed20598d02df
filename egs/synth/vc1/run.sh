#!/usr/bin/env bash
# The offline synthetic corpus, end to end. Stages:
#   0  synthesize the corpus           (local/data.sh)
#   1  train/dev/eval data dirs        (local/data.sh)
#   2  features and statistics         dump/<set>, dump/train/stats.npz
#   3  Griffin-Lim copy synthesis      exp/copysynth_gl/eval: a check of features + vocoder
# Run a range with --stage N --stop_stage M; every option below can be set as --name value.
set -euo pipefail
cd "$(dirname "$0")"
. ./path.sh
. ./cmd.sh

stage=0
stop_stage=3
nj=2
n_speakers=4
n_utts=20
n_eval=5
seed=1
feats_conf=conf/feats.yaml
gl_iters=32
help_message="Usage: $0 [--stage 0] [--stop_stage 3] [--nj 2] [--n_speakers 4] [--n_utts 20] [--n_eval 5]
                [--seed 1] [--feats_conf conf/feats.yaml] [--gl_iters 32]"

. utils/parse_options.sh

command -v vc >/dev/null || { echo "$0: 'vc' not found; run 'make install' in the repository root" >&2; exit 1; }

log() { echo "$(date '+%H:%M:%S') $*"; }
SECONDS=0

if [ "$stage" -le 1 ] && [ "$stop_stage" -ge 0 ]; then
  local/data.sh --stage "$stage" --stop_stage "$((stop_stage < 1 ? stop_stage : 1))" \
    --n_speakers "$n_speakers" --n_utts "$n_utts" --n_eval "$n_eval" --seed "$seed" --nj "$nj"
fi

if [ "$stage" -le 2 ] && [ "$stop_stage" -ge 2 ]; then
  log "stage 2: features ($feats_conf) and statistics"
  for set in train dev eval; do
    ${train_cmd} "dump/$set/log/extract.log" \
      vc extract --data "data/$set" --conf "$feats_conf" --out "dump/$set" --nj "$nj" --no-progress
    tail -n 3 "dump/$set/log/extract.log" | head -n 1
  done
  # Normalisation statistics come from the training set only.
  ${train_cmd} dump/train/log/stats.log vc stats --dump dump/train --nj "$nj"
  tail -n 3 dump/train/log/stats.log | head -n 1
fi

if [ "$stage" -le 3 ] && [ "$stop_stage" -ge 3 ]; then
  log "stage 3: Griffin-Lim copy synthesis of the eval set ($gl_iters iterations, $nj jobs)"
  dir=exp/copysynth_gl/eval
  rm -rf "$dir" data/eval/split"$nj"
  vc data split data/eval --parts "$nj" --out "data/eval/split$nj"
  ${train_cmd} JOB=1:"$nj" "$dir/log/vocode.JOB.log" \
    vc vocode --vocoder gl --conf "$feats_conf" --iters "$gl_iters" --data "data/eval/split$nj/JOB" --out "$dir/JOB"
  cat "$dir"/*/wav.scp | sort > "$dir/wav.scp"
  # scores.tsv: utt seconds spectral_convergence lsd_db (one header line per job).
  cat "$dir"/*/scores.tsv | awk '$1 != "utt"' | sort > "$dir/scores.tsv"
fi

if [ "$stop_stage" -ge 3 ] && [ -f exp/copysynth_gl/eval/scores.tsv ]; then
  echo
  echo "Summary ($(basename "$(pwd -P)"), $(( SECONDS / 60 )) min $(( SECONDS % 60 )) s)"
  printf "  corpus          %d speakers; %d train, %d dev (non-parallel), %d eval (parallel) utterances\n" \
    "$(wc -l < data/train/spk2utt)" "$(wc -l < data/train/utt2spk)" "$(wc -l < data/dev/utt2spk)" "$(wc -l < data/eval/utt2spk)"
  awk '{n++; f += $2} END {printf "  features        %d frames in dump/train, dump/dev, dump/eval\n", f}' dump/*/utt2num_frames
  awk '{n++; sec += $2; sc += $3; lsd += $4}
       END {printf "  copy synthesis  Griffin-Lim: mean spectral convergence %.3f, log-spectral distance %.2f dB over %.1f s\n", sc / n, lsd / n, sec}' \
    exp/copysynth_gl/eval/scores.tsv
  echo "  converted wavs: exp/copysynth_gl/eval/wav.scp"
fi
