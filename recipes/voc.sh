#!/usr/bin/env bash
# The neural vocoder pipeline every egs/*/voc1/run.sh calls (ESPnet2 style: run.sh sets the
# corpus' defaults and passes "$@" on). Stages:
#   0  download the corpus (or synthesize it)                  local/data.sh stage 0
#   1  Kaldi data dirs data/{train,dev,eval}                   local/data.sh stage 1
#   2  log-mel features with the audio they came from (vc extract --save-audio) and statistics;
#      use the conversion recipe's --feats_conf, so these vocoders also serve its models
#   3  train each of --vocoders, side by side: parallel_wavenet (Parallel WaveGAN-style,
#      exp/parallel_wavenet) and wavenet (autoregressive, mixture of logistics, exp/wavenet);
#      --tag T appends _T. --ngpu/--num_nodes/--cpu_procs > 1: DDP under torchrun, one vocoder after the other
#   4  copy synthesis of --n_copy eval utterances (each speaker's first) with Griffin-Lim
#      (--gl_iters iterations) and each trained vocoder        exp/copysynth_<vocoder>/eval
#   5  the table: MR-STFT distance and MCD of each copy synthesis to the original audio
# Run a range with --stage N --stop_stage M.
set -euo pipefail
cd "$(dirname "$0")"
. ./path.sh
. ./cmd.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/common.sh"

stop_stage=5
n_copy=14         # eval utterances copy-synthesised and scored
vocoders="parallel_wavenet wavenet"
parallel_wavenet_conf=conf/parallel_wavenet_quick.yaml
wavenet_conf=conf/wavenet_quick.yaml
wavenet_batch=16  # utterances WaveNet generates together
help_message="Usage: $0 [options]; the stages are listed at the top of $(readlink -f "$0")
  $common_help
  --stop_stage 5 --n_copy 14 --vocoders \"parallel_wavenet wavenet\" --parallel_wavenet_conf FILE
  --wavenet_conf FILE --wavenet_batch 16"

. utils/parse_options.sh

command -v vc >/dev/null || die "'vc' not found; run 'make install' in the repository root"
check_scaling
SECONDS=0

conf_of() {
  if [ -n "$conf" ]; then echo "$conf"; return; fi
  case $1 in parallel_wavenet) echo "$parallel_wavenet_conf" ;; wavenet) echo "$wavenet_conf" ;; esac
}
exp_of() { echo "exp/$1${tag:+_$tag}"; }
copy_dir() { if [ "$1" = gl ]; then echo exp/copysynth_gl/eval; else echo "exp/copysynth_$1${tag:+_$tag}/eval"; fi; }
name_of() {
  case $1 in gl) echo "Griffin-Lim ($gl_iters iterations)" ;; parallel_wavenet) echo "Parallel WaveNet (non-AR)" ;;
              wavenet) echo "WaveNet (autoregressive)" ;; esac
}
for vocoder in $vocoders; do
  [ -n "$(conf_of "$vocoder")" ] || die "unknown vocoder '$vocoder' (parallel_wavenet, wavenet)"
done
[ -z "$conf" ] || [ "$(echo $vocoders | wc -w)" -eq 1 ] ||
  die "--conf takes the config of one vocoder; with --vocoders \"$vocoders\" use --<vocoder>_conf"

if [ "$stage" -le 1 ] && [ "$stop_stage" -ge 0 ]; then
  run_local_data "$stage" "$((stop_stage < 1 ? stop_stage : 1))"
fi

if [ "$stage" -le 2 ] && [ "$stop_stage" -ge 2 ]; then
  log "stage 2: features ($feats_conf) with their audio, and statistics"
  extract_features --save-audio
  # The copy-synthesis set: each speaker's first eval utterance, up to n_copy of them.
  awk '!seen[$2]++ {print $1}' data/eval/utt2spk | head -n "$n_copy" > data/eval/copy.list
  vc data subset data/eval data/eval_copy --utts data/eval/copy.list
fi

if [ "$stage" -le 3 ] && [ "$stop_stage" -ge 3 ]; then
  n=$(echo $vocoders | wc -w)
  if [ "$ngpu" -eq 0 ] && [ "$cpu_procs" -eq 1 ]; then
    # On a small CPU, vocoders training side by side on a share of the cores get more done
    # than one after the other on all of them.
    train_threads=$(( $(cores) / n > 0 ? $(cores) / n : 1 ))
    pids=()
    for vocoder in $vocoders; do
      log "stage 3: train $vocoder ($(conf_of "$vocoder"), $train_threads threads); progress in $(exp_of "$vocoder")/log/train.log"
      # shellcheck disable=SC2086
      launch_train "$(exp_of "$vocoder")/log/vc_train.log" --conf "$(conf_of "$vocoder")" --exp "$(exp_of "$vocoder")" \
        --train-dump dump/train --valid-dump dump/dev $train_opts &
      pids+=($!)
    done
    for pid in "${pids[@]}"; do
      wait "$pid" || die "a vocoder failed to train; see exp/*/log/vc_train.log"
    done
  else
    for vocoder in $vocoders; do
      log "stage 3: train $vocoder ($(conf_of "$vocoder")); progress in $(exp_of "$vocoder")/log/train.log"
      # shellcheck disable=SC2086
      launch_train "$(exp_of "$vocoder")/log/vc_train.log" --conf "$(conf_of "$vocoder")" --exp "$(exp_of "$vocoder")" \
        --train-dump dump/train --valid-dump dump/dev $train_opts
    done
  fi
  for vocoder in $vocoders; do
    grep -m 1 'parameters' "$(exp_of "$vocoder")/log/vc_train.log"
    tail -n 3 "$(exp_of "$vocoder")/log/vc_train.log" | head -n 1
  done
fi

if [ "$stage" -le 4 ] && [ "$stop_stage" -ge 4 ]; then
  for vocoder in gl $vocoders; do
    dir=$(copy_dir "$vocoder")
    log "stage 4: copy synthesis of data/eval_copy with $(name_of "$vocoder")"
    rm -rf "$dir"
    threads=$(cores)
    case $vocoder in
      gl) opts=(--vocoder gl --conf "$feats_conf" --iters "$gl_iters") ;;
      # WaveNet's per-sample ops are too small for two threads (docs/vocoders.md).
      wavenet) opts=(--vocoder "$(exp_of "$vocoder")" --batch-size "$wavenet_batch"); threads=1 ;;
      *) opts=(--vocoder "$(exp_of "$vocoder")") ;;
    esac
    OMP_NUM_THREADS=$threads ${train_cmd} "$dir/log/vocode.log" \
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
    scores=$(copy_dir "$vocoder")/scores.tsv
    [ -f "$scores" ] || continue
    # scores.tsv: utt seconds spectral_convergence lsd_db mrstft mcd_db
    awk -v name="$(name_of "$vocoder")" 'NR > 1 {n++; sec += $2; lsd += $4; mr += $5; mcd += $6}
      END {printf "  %-34s %16.3f %10.2f %8.2f %8.1f\n", name, mr / n, mcd / n, lsd / n, sec}' "$scores"
  done
  echo "  wavs: exp/copysynth_*/eval/wav.scp"
fi
