#!/usr/bin/env bash
# Neural vocoders on the offline synthetic corpus, end to end. Stages:
#   0  synthesize the corpus                 (local/data.sh, shared with ../vc1)
#   1  train/dev/eval data dirs              (local/data.sh)
#   2  log-mel features with the audio they came from (vc extract --save-audio) and statistics;
#      the feature config is ../vc1's, so these vocoders also serve vc1's conversion models
#   3  train each of --vocoders, side by side: parallel_wavenet (Parallel WaveGAN-style, exp/parallel_wavenet)
#      and wavenet (autoregressive, mixture of logistics, exp/wavenet)
#   4  copy synthesis of --n_copy eval utterances (the first parallel sentence of each speaker)
#      with Griffin-Lim (--gl_iters iterations) and each trained vocoder   exp/copysynth_<vocoder>/eval
#   5  the table: MR-STFT distance and MCD of each copy synthesis to the original audio
# Run a range with --stage N --stop_stage M; every option below can be set as --name value.
set -euo pipefail
cd "$(dirname "$0")"
. ./path.sh
. ./cmd.sh

stage=0
stop_stage=5
nj=2
n_speakers=14
n_utts=20
n_eval=5
n_copy=14                   # eval utterances copy-synthesised and scored
seed=1
feats_conf=conf/feats.yaml
gl_iters=32
vocoders="parallel_wavenet wavenet"
parallel_wavenet_conf=conf/parallel_wavenet_quick.yaml   # conf/parallel_wavenet_paper.yaml on a GPU
wavenet_conf=conf/wavenet_quick.yaml                     # conf/wavenet_paper.yaml on a GPU
wavenet_batch=16            # utterances WaveNet generates together
help_message="Usage: $0 [--stage 0] [--stop_stage 5] [--nj 2] [--n_speakers 14] [--n_utts 20] [--n_eval 5]
                [--n_copy 14] [--seed 1] [--feats_conf conf/feats.yaml] [--gl_iters 32]
                [--vocoders \"parallel_wavenet wavenet\"] [--parallel_wavenet_conf conf/parallel_wavenet_quick.yaml]
                [--wavenet_conf conf/wavenet_quick.yaml] [--wavenet_batch 16]"

. utils/parse_options.sh

command -v vc >/dev/null || { echo "$0: 'vc' not found; run 'make install' in the repository root" >&2; exit 1; }

log() { echo "$(date '+%H:%M:%S') $*"; }
SECONDS=0

conf_of() {
  case $1 in parallel_wavenet) echo "$parallel_wavenet_conf" ;; wavenet) echo "$wavenet_conf" ;; esac
}
name_of() {
  case $1 in gl) echo "Griffin-Lim ($gl_iters iterations)" ;; parallel_wavenet) echo "Parallel WaveNet (non-AR)" ;;
              wavenet) echo "WaveNet (autoregressive)" ;; esac
}
for vocoder in $vocoders; do
  [ -n "$(conf_of "$vocoder")" ] || { echo "$0: unknown vocoder '$vocoder' (parallel_wavenet, wavenet)" >&2; exit 1; }
done

if [ "$stage" -le 1 ] && [ "$stop_stage" -ge 0 ]; then
  local/data.sh --stage "$stage" --stop_stage "$((stop_stage < 1 ? stop_stage : 1))" \
    --n_speakers "$n_speakers" --n_utts "$n_utts" --n_eval "$n_eval" --seed "$seed" --nj "$nj"
fi

if [ "$stage" -le 2 ] && [ "$stop_stage" -ge 2 ]; then
  log "stage 2: features ($feats_conf) with their audio, and statistics"
  for set in train dev eval; do
    ${train_cmd} "dump/$set/log/extract.log" \
      vc extract --data "data/$set" --conf "$feats_conf" --out "dump/$set" --nj "$nj" --save-audio --no-progress
    tail -n 3 "dump/$set/log/extract.log" | head -n 1
  done
  ${train_cmd} dump/train/log/stats.log vc stats --dump dump/train --nj "$nj"
  tail -n 3 dump/train/log/stats.log | head -n 1
  # The copy-synthesis set: each speaker's first parallel sentence, up to n_copy of them.
  awk '$1 ~ /_par001$/ {print $1}' data/eval/utt2spk | head -n "$n_copy" > data/eval/copy.list
  vc data subset data/eval data/eval_copy --utts data/eval/copy.list
fi

if [ "$stage" -le 3 ] && [ "$stop_stage" -ge 3 ]; then
  # The vocoders train side by side, the cores shared out as torch threads: on a small CPU
  # two one-thread processes get more done than one two-thread process after the other.
  n=$(echo $vocoders | wc -w)
  threads=$(( $(nproc) / n > 0 ? $(nproc) / n : 1 ))
  pids=()
  for vocoder in $vocoders; do
    log "stage 3: train $vocoder ($(conf_of "$vocoder"), $threads threads); progress in exp/$vocoder/log/train.log"
    OMP_NUM_THREADS=$threads ${train_cmd} "exp/$vocoder/log/vc_train.log" \
      vc train --conf "$(conf_of "$vocoder")" --exp "exp/$vocoder" --train-dump dump/train --valid-dump dump/dev &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do
    wait "$pid" || { echo "$0: a vocoder failed to train; see exp/*/log/vc_train.log" >&2; exit 1; }
  done
  for vocoder in $vocoders; do
    grep -m 1 'parameters' "exp/$vocoder/log/vc_train.log"
    tail -n 3 "exp/$vocoder/log/vc_train.log" | head -n 1
  done
fi

if [ "$stage" -le 4 ] && [ "$stop_stage" -ge 4 ]; then
  for vocoder in gl $vocoders; do
    dir=exp/copysynth_$vocoder/eval
    log "stage 4: copy synthesis of data/eval_copy with $(name_of "$vocoder")"
    rm -rf "$dir"
    case $vocoder in
      gl) opts=(--vocoder gl --conf "$feats_conf" --iters "$gl_iters") ;;
      wavenet) opts=(--vocoder "exp/$vocoder" --batch-size "$wavenet_batch") ;;
      *) opts=(--vocoder "exp/$vocoder") ;;
    esac
    OMP_NUM_THREADS=$(nproc) ${train_cmd} "$dir/log/vocode.log" \
      vc vocode "${opts[@]}" --data data/eval_copy --out "$dir"
    tail -n 3 "$dir/log/vocode.log" | head -n 1
  done
fi

if [ "$stop_stage" -ge 5 ] && [ -f exp/copysynth_gl/eval/scores.tsv ]; then
  echo
  echo "Copy synthesis of $(wc -l < data/eval_copy/utt2spk) eval utterances against the original audio" \
       "($(basename "$(pwd -P)"), $(( SECONDS / 60 )) min $(( SECONDS % 60 )) s; lower is better)"
  printf "  %-34s %16s %10s %8s %8s\n" vocoder "MR-STFT distance" "MCD (dB)" "LSD (dB)" seconds
  for vocoder in gl $vocoders; do
    scores=exp/copysynth_$vocoder/eval/scores.tsv
    [ -f "$scores" ] || continue
    # scores.tsv: utt seconds spectral_convergence lsd_db mrstft mcd_db
    awk -v name="$(name_of "$vocoder")" 'NR > 1 {n++; sec += $2; lsd += $4; mr += $5; mcd += $6}
      END {printf "  %-34s %16.3f %10.2f %8.2f %8.1f\n", name, mr / n, mcd / n, lsd / n, sec}' "$scores"
  done
  echo "  wavs: exp/copysynth_*/eval/wav.scp"
fi
