#!/usr/bin/env bash
# The offline synthetic corpus, end to end. Stages:
#   0  synthesize the corpus           (local/data.sh)
#   1  train/dev/eval data dirs        (local/data.sh)
#   2  features and statistics         dump/<set>, dump/train/stats.npz
#   3  Griffin-Lim copy synthesis      exp/copysynth_gl/eval: a check of features + vocoder
#   4  train each of --systems: cyclegan (CycleGAN-VC on src_spk <-> tgt_spk, exp/cyclegan_<src>_<tgt>)
#      and stargan (StarGAN-VC on every training speaker, exp/stargan)
#   5  convert the parallel eval set src_spk -> tgt_spk with each     <exp>/convert/eval
#   6  MCD-DTW to the target, beside the unconverted source, and the table
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
systems="cyclegan stargan"
cyclegan_conf=conf/cyclegan_quick.yaml   # conf/cyclegan_paper.yaml on a GPU
stargan_conf=conf/stargan_quick.yaml     # conf/stargan_paper.yaml on a GPU
help_message="Usage: $0 [--stage 0] [--stop_stage 6] [--nj 2] [--n_speakers 4] [--n_utts 20] [--n_eval 5]
                [--seed 1] [--feats_conf conf/feats.yaml] [--gl_iters 32]
                [--src_spk flite_awb] [--tgt_spk espeak_f1] [--systems \"cyclegan stargan\"]
                [--cyclegan_conf conf/cyclegan_quick.yaml] [--stargan_conf conf/stargan_quick.yaml]"

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

# Where each system's experiment lives, its config, and what it trains on.
exp_dir() { case $1 in cyclegan) echo "exp/cyclegan_${src_spk}_${tgt_spk}" ;; stargan) echo exp/stargan ;; esac; }
conf_of() { case $1 in cyclegan) echo "$cyclegan_conf" ;; stargan) echo "$stargan_conf" ;; esac; }
speakers_of() { case $1 in cyclegan) echo "--speakers $src_spk,$tgt_spk" ;; stargan) echo "" ;; esac; }
for system in $systems; do
  [ -n "$(exp_dir "$system")" ] || { echo "$0: unknown system '$system' (cyclegan, stargan)" >&2; exit 1; }
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
  done
fi

if [ "$stage" -le 6 ] && [ "$stop_stage" -ge 6 ]; then
  for system in $systems; do
    exp=$(exp_dir "$system")
    log "stage 6: mel-cepstral distortion (DTW) of $system's conversions to $tgt_spk's parallel recordings"
    ${train_cmd} "$exp/log/evaluate_eval.log" \
      vc evaluate --converted "$exp/convert/eval" --data data/eval --tgt-spk "$tgt_spk" --out "$exp/evaluate/eval"
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
summaries=""
for system in $systems; do
  f=$(exp_dir "$system")/evaluate/eval/summary.json
  [ -f "$f" ] && summaries="$summaries $system=$f"
done
if [ "$stop_stage" -ge 6 ] && [ -n "$summaries" ]; then
  echo
  echo "Mel-cepstral distortion to $tgt_spk (DTW, dB, mean ± 95% CI over the parallel eval sentences of $src_spk)"
  # shellcheck disable=SC2086
  python3 - "$src_spk" "$tgt_spk" $summaries <<'PY'
import json, sys
src, tgt, pairs = sys.argv[1], sys.argv[2], [a.split("=", 1) for a in sys.argv[3:]]
names = {"cyclegan": "CycleGAN-VC", "stargan": "StarGAN-VC"}
rows = [(f"unconverted source ({src})", json.load(open(pairs[0][1]))["source_mcd_db"])]
rows += [(f"{names[s]} {src} -> {tgt}", json.load(open(f))["mcd_db"]) for s, f in pairs]
for name, r in rows:
    print(f"  {name:40s} {r['mean']:6.2f} ± {r['ci95']:.2f}   (n={r['n']})")
PY
  for system in $systems; do echo "  $system converted wavs: $(exp_dir "$system")/convert/eval/wav.scp"; done
fi
