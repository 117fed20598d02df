#!/usr/bin/env bash
# The voice conversion pipeline every egs/*/vc1/run.sh calls (ESPnet2 style: run.sh sets the
# corpus' defaults and passes "$@" on, so any option below can be given to run.sh). Stages:
#   0  download the corpus (or synthesize it)                  local/data.sh stage 0
#   1  Kaldi data dirs data/{train,dev,eval} (+ data/heldout)  local/data.sh stage 1
#      train/dev are non-parallel; eval is parallel: <spk><sentence> ids, the same
#      <sentence> for every speaker who says it
#   2  features and statistics                                 dump/<set>, dump/train/stats.npz
#   3  Griffin-Lim copy synthesis of the eval set              exp/copysynth_gl/eval: a check of features + vocoder
#   4  train each of --systems: cyclegan (CycleGAN-VC on src_spk <-> tgt_spk, exp/cyclegan_<src>_<tgt>),
#      stargan (StarGAN-VC on every training speaker, exp/stargan) and disentangle (content
#      encoder + speaker encoders + decoder on every training speaker, exp/disentangle);
#      --tag T appends _T to these names. --ngpu/--num_nodes/--cpu_procs > 1: DDP under torchrun
#   5  convert the parallel eval set src_spk -> tgt_spk with each system and each of --vocoders
#      (gl: Griffin-Lim, or a vocoder experiment dir; auto: gl and whichever of ../voc1's
#      parallel_wavenet and wavenet are trained)                  <exp>/convert/eval_<vocoder>;
#      disentangle also one-shot to each --heldout_spks speaker from --n_ref of their
#      recordings in data/heldout                                 <exp>/convert/eval_oneshot_<spk>_<vocoder>
#   6  score every conversion and two references per target, the unconverted source (lower
#      bound, exp/reference/source_<src>_<tgt>) and the target's real recordings (upper
#      bound, exp/reference/target_<tgt>): MCD-DTW, F0, speaker similarity, ASR error,
#      DNSMOS (--eval_metrics); disentangle's latent speaker probe (vc evaluate disentangle)
#   7  the report: exp/report/index.html, and the summary table
# Run a range with --stage N --stop_stage M. Jobs run through $train_cmd / $cuda_cmd
# (cmd.sh: utils/run.pl here, utils/slurm.pl on a cluster), logs under dump/*/log and exp/*/log.
set -euo pipefail
cd "$(dirname "$0")"
. ./path.sh
. ./cmd.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/common.sh"

stop_stage=7
n_ref=5           # recordings of each --heldout_spks speaker used as one-shot references
src_spk=""
tgt_spk=""
systems="cyclegan stargan disentangle"
cyclegan_conf=conf/cyclegan_quick.yaml
stargan_conf=conf/stargan_quick.yaml
disentangle_conf=conf/disentangle_quick.yaml
vocoders=auto     # auto, or gl and/or vocoder experiment dirs (../voc1 trains them on these features)
eval_metrics=mcd,f0,speaker,asr,mos
help_message="Usage: $0 [options]; the stages are listed at the top of $(readlink -f "$0")
  $common_help
  --stop_stage 7 --src_spk SPK --tgt_spk SPK --n_ref 5 --systems \"cyclegan stargan disentangle\"
  --cyclegan_conf FILE --stargan_conf FILE --disentangle_conf FILE --vocoders auto
  --eval_metrics mcd,f0,speaker,asr,mos"

. utils/parse_options.sh

command -v vc >/dev/null || die "'vc' not found; run 'make install' in the repository root"
[ -n "$src_spk" ] && [ -n "$tgt_spk" ] || die "--src_spk and --tgt_spk are required"
check_scaling
SECONDS=0

# Where each system's experiment lives, its config, and what it trains on.
exp_dir() {
  case $1 in cyclegan) echo "exp/cyclegan_${src_spk}_${tgt_spk}${tag:+_$tag}" ;;
             stargan|disentangle) echo "exp/$1${tag:+_$tag}" ;; esac
}
conf_of() {
  if [ -n "$conf" ]; then echo "$conf"; return; fi
  case $1 in cyclegan) echo "$cyclegan_conf" ;; stargan) echo "$stargan_conf" ;; disentangle) echo "$disentangle_conf" ;; esac
}
speakers_of() { case $1 in cyclegan) echo "--speakers $src_spk,$tgt_spk" ;; *) echo "" ;; esac; }
name_of() { case $1 in cyclegan) echo CycleGAN-VC ;; stargan) echo StarGAN-VC ;; disentangle) echo Disentangle ;; esac; }
for system in $systems; do
  [ -n "$(exp_dir "$system")" ] || die "unknown system '$system' (cyclegan, stargan, disentangle)"
done
[ -z "$conf" ] || [ "$(echo $systems | wc -w)" -eq 1 ] ||
  die "--conf takes the config of one system; with --systems \"$systems\" use --<system>_conf"
has_system() { case " $systems " in *" $1 "*) true ;; *) false ;; esac; }

if [ "$stage" -le 1 ] && [ "$stop_stage" -ge 0 ]; then
  run_local_data "$stage" "$((stop_stage < 1 ? stop_stage : 1))"
fi

if [ "$stage" -le 2 ] && [ "$stop_stage" -ge 2 ]; then
  log "stage 2: features ($feats_conf) and statistics"
  extract_features
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

if [ "$stage" -le 4 ] && [ "$stop_stage" -ge 4 ]; then
  for system in $systems; do
    exp=$(exp_dir "$system")
    log "stage 4: train $system ($(conf_of "$system")); progress in $exp/log/train.log"
    # shellcheck disable=SC2046,SC2086
    launch_train "$exp/log/vc_train.log" --conf "$(conf_of "$system")" --exp "$exp" \
      --train-dump dump/train --valid-dump dump/dev $(speakers_of "$system") $train_opts
    tail -n 3 "$exp/log/vc_train.log" | head -n 1
  done
fi

vocoder_name() { if [ "$1" = gl ]; then echo gl; else basename "$1"; fi; }
vocoder_args() { if [ "$1" = gl ]; then echo "--vocoder gl --iters $gl_iters"; else echo "--vocoder $1"; fi; }
vocoder_title() { if [ "$1" = gl ]; then echo "Griffin-Lim"; else basename "$1"; fi; }
if [ "$vocoders" = auto ]; then
  vocoders=gl
  for vocoder in ../voc1/exp/parallel_wavenet ../voc1/exp/wavenet; do
    if compgen -G "$vocoder/checkpoints/*.pt" >/dev/null; then vocoders="$vocoders $vocoder"; fi
  done
fi
for vocoder in $vocoders; do
  [ "$vocoder" = gl ] || [ -f "$vocoder/config.yaml" ] ||
    die "--vocoders: '$vocoder' is neither gl nor a trained vocoder experiment (no $vocoder/config.yaml)"
done
# The one-shot conversions' --ref arguments: the first n_ref recordings of $1 in data/heldout.
oneshot_refs() {
  awk -v s="$1" -v n="$n_ref" '$1 == s {for (i = 2; i <= NF && i <= n + 1; i++) print $i}' data/heldout/spk2utt |
    awk 'NR == FNR {want[$1] = 1; next} $1 in want {print "--ref", $2}' - data/heldout/wav.scp
}
# Every conversion as "system<TAB>set<TAB>target<TAB>vocoder": the set names <exp>/convert/<set>
# and <exp>/evaluate/<set>.
conversions() {
  local system vocoder spk
  for system in $systems; do
    for vocoder in $vocoders; do
      printf '%s\t%s\t%s\t%s\n' "$system" "eval_$(vocoder_name "$vocoder")" "$tgt_spk" "$vocoder"
      [ "$system" = disentangle ] || continue
      for spk in $heldout_spks; do
        printf '%s\t%s\t%s\t%s\n' "$system" "eval_oneshot_${spk}_$(vocoder_name "$vocoder")" "$spk" "$vocoder"
      done
    done
  done
}

if [ "$stage" -le 5 ] && [ "$stop_stage" -ge 5 ]; then
  for spk in $heldout_spks; do
    grep -q "^$spk " data/heldout/spk2utt 2>/dev/null ||
      die "--heldout_spks $spk: not in data/heldout/spk2utt (rerun stage 1 with the same --heldout_spks)"
  done
  conversions | while IFS=$'\t' read -r system set tgt vocoder; do
    exp=$(exp_dir "$system")
    log "stage 5: convert the eval set with $system, $src_spk -> $tgt ($set)"
    if [ "$tgt" = "$tgt_spk" ]; then target_args="--tgt-spk $tgt"; else target_args=$(oneshot_refs "$tgt"); fi
    # shellcheck disable=SC2046,SC2086
    ${train_cmd} "$exp/log/convert_$set.log" \
      vc convert --model "$exp" --src-spk "$src_spk" $target_args --data data/eval \
        $(vocoder_args "$vocoder") --nj "$nj" --out "$exp/convert/$set" </dev/null
    tail -n 3 "$exp/log/convert_$set.log" | head -n 1
  done
fi

# At most $nj commands in the background at once; wait_all fails if any of them failed.
bg_pids=()
in_background() {
  while [ "$(jobs -rp | wc -l)" -ge "$nj" ]; do wait -n || true; done
  "$@" </dev/null & bg_pids+=("$!")
}
wait_all() {
  local failed=0
  for pid in "${bg_pids[@]}"; do wait "$pid" || failed=1; done
  bg_pids=()
  return "$failed"
}

results=exp/results.list  # every result dir, in the report's order
if [ "$stage" -le 6 ] && [ "$stop_stage" -ge 6 ]; then
  mkdir -p exp
  : > "$results"
  evaluate() {  # log, out, then vc evaluate's arguments
    local log=$1 out=$2; shift 2
    echo "$out" >> "$results"
    in_background ${train_cmd} "$log" vc evaluate "$@" --data data/eval --metrics "$eval_metrics" \
      --cache-dir exp/reference/cache --quiet --out "$out"
  }
  first=1
  for tgt in $tgt_spk $(has_system disentangle && echo "$heldout_spks"); do
    log "stage 6: references for $src_spk -> $tgt: the unconverted source and $tgt's real recordings"
    evaluate "exp/reference/log/source_${src_spk}_$tgt.log" "exp/reference/source_${src_spk}_$tgt" \
      --reference source --src-spk "$src_spk" --tgt-spk "$tgt"
    # The first job embeds every data/eval speaker for speaker similarity; the rest reuse its cache.
    [ "$first" = 0 ] || wait_all
    first=0
    evaluate "exp/reference/log/target_$tgt.log" "exp/reference/target_$tgt" \
      --reference target --src-spk "$src_spk" --tgt-spk "$tgt"
  done
  while IFS=$'\t' read -r system set tgt vocoder; do
    exp=$(exp_dir "$system")
    label="$(name_of "$system")$(case $set in eval_oneshot_*) echo " one-shot" ;; esac), $(vocoder_title "$vocoder")"
    log "stage 6: score $label, $src_spk -> $tgt"
    evaluate "$exp/log/evaluate_$set.log" "$exp/evaluate/$set" --converted "$exp/convert/$set" \
      --tgt-spk "$tgt" --label "$label" --model "$exp" --vocoder "$(vocoder_name "$vocoder")"
  done < <(conversions)
  wait_all
  if has_system disentangle; then
    exp=$(exp_dir disentangle)
    log "stage 6: latent speaker probe on dump/eval (content codes vs input features)"
    ${train_cmd} "$exp/log/evaluate_disentangle.log" \
      vc evaluate disentangle --model "$exp" --dump dump/eval --out "$exp/evaluate/disentangle"
  fi
fi

if [ "$stage" -le 7 ] && [ "$stop_stage" -ge 7 ]; then
  log "stage 7: the report of every result in $results"
  mkdir -p exp/report
  # shellcheck disable=SC2046
  vc report $(cat "$results") --out exp/report --title "egs/$(basename "$(dirname "$(pwd -P)")")/$(basename "$(pwd -P)"): $src_spk -> $tgt_spk$(
    has_system disentangle && [ -n "$heldout_spks" ] && echo " and one-shot to $heldout_spks")" \
    > exp/report/summary.txt.new || { rm -f exp/report/summary.txt.new; exit 1; }
  mv exp/report/summary.txt.new exp/report/summary.txt
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
if [ "$stop_stage" -ge 6 ] && has_system disentangle && [ -f "$(exp_dir disentangle)/log/evaluate_disentangle.log" ]; then
  echo
  grep -v '^#' "$(exp_dir disentangle)/log/evaluate_disentangle.log"
fi
if [ "$stop_stage" -ge 7 ] && [ -f exp/report/summary.txt ]; then
  echo
  cat exp/report/summary.txt
fi
