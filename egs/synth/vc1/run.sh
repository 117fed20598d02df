#!/usr/bin/env bash
# The offline synthetic corpus, end to end. Stages:
#   0  synthesize the corpus           (local/data.sh)
#   1  train/dev/eval data dirs        (local/data.sh)
#   2  features and statistics         dump/<set>, dump/train/stats.npz
#   3  Griffin-Lim copy synthesis      exp/copysynth_gl/eval: a check of features + vocoder
#   4  train CycleGAN-VC on src_spk -> tgt_spk          exp/cyclegan_<src>_<tgt>
#   5  convert the parallel eval set                   exp/cyclegan_<src>_<tgt>/convert/eval
#   6  MCD-DTW to the target, beside the unconverted source
# Run a range with --stage N --stop_stage M; every option below can be set as --name value.
set -euo pipefail
cd "$(dirname "$0")"
. ./path.sh
. ./cmd.sh

stage=0
stop_stage=6
nj=2
n_speakers=4
n_utts=20
n_eval=5
seed=1
feats_conf=conf/feats.yaml
gl_iters=32
src_spk=flite_awb
tgt_spk=espeak_f1
cyclegan_conf=conf/cyclegan_quick.yaml   # conf/cyclegan_paper.yaml on a GPU
help_message="Usage: $0 [--stage 0] [--stop_stage 6] [--nj 2] [--n_speakers 4] [--n_utts 20] [--n_eval 5]
                [--seed 1] [--feats_conf conf/feats.yaml] [--gl_iters 32]
                [--src_spk flite_awb] [--tgt_spk espeak_f1] [--cyclegan_conf conf/cyclegan_quick.yaml]"

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

cyclegan=exp/cyclegan_${src_spk}_${tgt_spk}

if [ "$stage" -le 4 ] && [ "$stop_stage" -ge 4 ]; then
  log "stage 4: train CycleGAN-VC $src_spk -> $tgt_spk ($cyclegan_conf); progress in $cyclegan/log/train.log"
  # Training uses both cores in one process (torch threads), so no per-job thread limit here.
  OMP_NUM_THREADS=$(nproc) ${train_cmd} "$cyclegan/log/vc_train.log" \
    vc train --conf "$cyclegan_conf" --exp "$cyclegan" --train-dump dump/train --valid-dump dump/dev \
      --speakers "$src_spk,$tgt_spk"
  tail -n 3 "$cyclegan/log/vc_train.log" | head -n 1
fi

if [ "$stage" -le 5 ] && [ "$stop_stage" -ge 5 ]; then
  log "stage 5: convert the eval set, $src_spk -> $tgt_spk, with Griffin-Lim ($gl_iters iterations)"
  ${train_cmd} "$cyclegan/log/convert_eval.log" \
    vc convert --model "$cyclegan" --src-spk "$src_spk" --tgt-spk "$tgt_spk" --data data/eval \
      --iters "$gl_iters" --nj "$nj" --out "$cyclegan/convert/eval"
  tail -n 3 "$cyclegan/log/convert_eval.log" | head -n 1
fi

if [ "$stage" -le 6 ] && [ "$stop_stage" -ge 6 ]; then
  log "stage 6: mel-cepstral distortion (DTW) to $tgt_spk's parallel recordings"
  ${train_cmd} "$cyclegan/log/evaluate_eval.log" \
    vc evaluate --converted "$cyclegan/convert/eval" --data data/eval --tgt-spk "$tgt_spk" \
      --out "$cyclegan/evaluate/eval"
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
  echo "  copy-synthesized wavs: exp/copysynth_gl/eval/wav.scp"
fi
summary=$cyclegan/evaluate/eval/summary.json
if [ "$stop_stage" -ge 6 ] && [ -f "$summary" ]; then
  echo
  echo "Mel-cepstral distortion to $tgt_spk (DTW, dB, mean ± 95% CI over the parallel eval sentences of $src_spk)"
  python3 - "$summary" "$src_spk" "$tgt_spk" <<'PY'
import json, sys
s, src, tgt = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
rows = [("unconverted source (" + src + ")", s["source_mcd_db"]), ("CycleGAN-VC " + src + " -> " + tgt, s["mcd_db"])]
for name, r in rows:
    print(f"  {name:40s} {r['mean']:6.2f} ± {r['ci95']:.2f}   (n={r['n']})")
PY
  echo "  converted wavs: $cyclegan/convert/eval/wav.scp"
fi
