#!/usr/bin/env bash
# The offline synthetic corpus, end to end. Stages:
#   0  synthesize the corpus           (local/data.sh)
#   1  train/dev/eval data dirs        (local/data.sh)
#   2  features and statistics         dump/<set>, dump/train/stats.npz
#   3  Griffin-Lim copy synthesis      exp/copysynth_gl/eval: a check of features + vocoder
#   4  train each of --systems: cyclegan (CycleGAN-VC on src_spk <-> tgt_spk, exp/cyclegan_<src>_<tgt>),
#      stargan (StarGAN-VC on every training speaker, exp/stargan) and disentangle (content
#      encoder + speaker encoders + decoder on every training speaker, exp/disentangle)
#   5  convert the parallel eval set src_spk -> tgt_spk with each     <exp>/convert/eval;
#      disentangle also one-shot to each --heldout_spks speaker from --n_ref of their
#      recordings in data/heldout                                     <exp>/convert/eval_oneshot_<spk>
#   6  MCD-DTW to the target, beside the unconverted source; disentangle's latent speaker
#      probe (vc evaluate disentangle on dump/eval); the tables
# Run a range with --stage N --stop_stage M; every option below can be set as --name value.
set -euo pipefail
cd "$(dirname "$0")"
. ./path.sh
. ./cmd.sh

stage=0
stop_stage=6
nj=2
n_speakers=14
heldout_spks="espeak_m1 flite_rms"  # never trained on: one-shot targets of the disentangle system
n_ref=5                             # their recordings used as references
n_utts=20
n_eval=5
seed=1
feats_conf=conf/feats.yaml
gl_iters=32
src_spk=flite_awb
tgt_spk=espeak_f1
systems="cyclegan stargan disentangle"
cyclegan_conf=conf/cyclegan_quick.yaml         # conf/cyclegan_paper.yaml on a GPU
stargan_conf=conf/stargan_quick.yaml           # conf/stargan_paper.yaml on a GPU
disentangle_conf=conf/disentangle_quick.yaml   # conf/disentangle_paper.yaml on a GPU
help_message="Usage: $0 [--stage 0] [--stop_stage 6] [--nj 2] [--n_speakers 14] [--n_utts 20] [--n_eval 5]
                [--seed 1] [--feats_conf conf/feats.yaml] [--gl_iters 32]
                [--src_spk flite_awb] [--tgt_spk espeak_f1] [--heldout_spks \"espeak_m1 flite_rms\"] [--n_ref 5]
                [--systems \"cyclegan stargan disentangle\"] [--cyclegan_conf conf/cyclegan_quick.yaml]
                [--stargan_conf conf/stargan_quick.yaml] [--disentangle_conf conf/disentangle_quick.yaml]"

. utils/parse_options.sh

command -v vc >/dev/null || { echo "$0: 'vc' not found; run 'make install' in the repository root" >&2; exit 1; }

log() { echo "$(date '+%H:%M:%S') $*"; }
SECONDS=0

if [ "$stage" -le 1 ] && [ "$stop_stage" -ge 0 ]; then
  local/data.sh --stage "$stage" --stop_stage "$((stop_stage < 1 ? stop_stage : 1))" \
    --n_speakers "$n_speakers" --n_utts "$n_utts" --n_eval "$n_eval" --seed "$seed" --nj "$nj" \
    --heldout "$heldout_spks"
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

# Where each system's experiment lives, its config, and what it trains on.
exp_dir() {
  case $1 in cyclegan) echo "exp/cyclegan_${src_spk}_${tgt_spk}" ;; stargan|disentangle) echo "exp/$1" ;; esac
}
conf_of() {
  case $1 in cyclegan) echo "$cyclegan_conf" ;; stargan) echo "$stargan_conf" ;; disentangle) echo "$disentangle_conf" ;; esac
}
speakers_of() { case $1 in cyclegan) echo "--speakers $src_spk,$tgt_spk" ;; *) echo "" ;; esac; }
name_of() { case $1 in cyclegan) echo CycleGAN-VC ;; stargan) echo StarGAN-VC ;; disentangle) echo Disentangle ;; esac; }
for system in $systems; do
  [ -n "$(exp_dir "$system")" ] || { echo "$0: unknown system '$system' (cyclegan, stargan, disentangle)" >&2; exit 1; }
done

if [ "$stage" -le 4 ] && [ "$stop_stage" -ge 4 ]; then
  for system in $systems; do
    exp=$(exp_dir "$system")
    log "stage 4: train $system ($(conf_of "$system")); progress in $exp/log/train.log"
    # Training uses both cores in one process (torch threads), so no per-job thread limit here.
    # shellcheck disable=SC2046
    OMP_NUM_THREADS=$(nproc) ${train_cmd} "$exp/log/vc_train.log" \
      vc train --conf "$(conf_of "$system")" --exp "$exp" --train-dump dump/train --valid-dump dump/dev \
        $(speakers_of "$system")
    tail -n 3 "$exp/log/vc_train.log" | head -n 1
  done
fi

if [ "$stage" -le 5 ] && [ "$stop_stage" -ge 5 ]; then
  for system in $systems; do
    exp=$(exp_dir "$system")
    log "stage 5: convert the eval set with $system, $src_spk -> $tgt_spk, Griffin-Lim ($gl_iters iterations)"
    ${train_cmd} "$exp/log/convert_eval.log" \
      vc convert --model "$exp" --src-spk "$src_spk" --tgt-spk "$tgt_spk" --data data/eval \
        --iters "$gl_iters" --nj "$nj" --out "$exp/convert/eval"
    tail -n 3 "$exp/log/convert_eval.log" | head -n 1
    [ "$system" = disentangle ] || continue
    for spk in $heldout_spks; do
      log "stage 5: one-shot $src_spk -> $spk (unseen in training) from $n_ref of $spk's recordings"
      # shellcheck disable=SC2046
      ${train_cmd} "$exp/log/convert_eval_oneshot_$spk.log" \
        vc convert --model "$exp" --data data/eval --src-spk "$src_spk" \
          $(awk -v s="$spk" -v n="$n_ref" '$1 == s {for (i = 2; i <= NF && i <= n + 1; i++) print $i}' \
              data/heldout/spk2utt | awk 'NR == FNR {want[$1] = 1; next} $1 in want {print "--ref", $2}' - data/heldout/wav.scp) \
          --iters "$gl_iters" --nj "$nj" --out "$exp/convert/eval_oneshot_$spk"
      tail -n 3 "$exp/log/convert_eval_oneshot_$spk.log" | head -n 1
    done
  done
fi

# "label<TAB>summary.json" of every scored conversion, for the table below.
mcd_rows=exp/mcd_rows.tsv
if [ "$stage" -le 6 ] && [ "$stop_stage" -ge 6 ]; then
  mkdir -p exp
  : > "$mcd_rows"
  for system in $systems; do
    exp=$(exp_dir "$system")
    log "stage 6: mel-cepstral distortion (DTW) of $system's conversions to $tgt_spk's parallel recordings"
    ${train_cmd} "$exp/log/evaluate_eval.log" \
      vc evaluate --converted "$exp/convert/eval" --data data/eval --tgt-spk "$tgt_spk" --out "$exp/evaluate/eval"
    printf '%s\t%s\n' "$(name_of "$system") $src_spk -> $tgt_spk" "$exp/evaluate/eval/summary.json" >> "$mcd_rows"
    [ "$system" = disentangle ] || continue
    for spk in $heldout_spks; do
      ${train_cmd} "$exp/log/evaluate_eval_oneshot_$spk.log" \
        vc evaluate --converted "$exp/convert/eval_oneshot_$spk" --data data/eval --tgt-spk "$spk" \
          --out "$exp/evaluate/eval_oneshot_$spk"
      printf '%s\t%s\n' "$(name_of "$system") one-shot $src_spk -> $spk" \
        "$exp/evaluate/eval_oneshot_$spk/summary.json" >> "$mcd_rows"
    done
    log "stage 6: latent speaker probe on dump/eval (content codes vs input features)"
    ${train_cmd} "$exp/log/evaluate_disentangle.log" \
      vc evaluate disentangle --model "$exp" --dump dump/eval --out "$exp/evaluate/disentangle"
  done
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
if [ "$stop_stage" -ge 6 ] && [ -s "$mcd_rows" ]; then
  echo
  echo "Mel-cepstral distortion to the target (DTW, dB, mean ± 95% CI over the parallel eval sentences of $src_spk)"
  python3 - "$mcd_rows" <<'PY'
import json, sys
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1]) if line.strip()]
shown = set()
for label, path in sorted(rows, key=lambda row: row[0].rsplit(" ", 1)[-1]):  # grouped by target
    summary, tgt = json.load(open(path)), label.rsplit(" ", 1)[-1]
    lines = [(label, summary["mcd_db"])]
    if tgt not in shown:  # the same source sentences against the same target: one lower bound
        lines.insert(0, (f"unconverted source vs {tgt}", summary["source_mcd_db"]))
        shown.add(tgt)
    for name, r in lines:
        print(f"  {name:48s} {r['mean']:6.2f} ± {r['ci95']:.2f}   (n={r['n']})")
PY
  for system in $systems; do
    exp=$(exp_dir "$system")
    echo "  $system converted wavs: $exp/convert/eval*/wav.scp"
    if [ "$system" = disentangle ] && [ -f "$exp/log/evaluate_disentangle.log" ]; then
      echo
      grep -v '^#' "$exp/log/evaluate_disentangle.log"
    fi
  done
fi
