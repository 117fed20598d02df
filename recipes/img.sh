#!/usr/bin/env bash
# The image-to-image translation pipeline every egs/*/img1/run.sh calls (run.sh sets the
# dataset's defaults and passes "$@" on, so any option below can be given to run.sh). Stages:
#   0  data dirs data/<builder>/{train,valid,test}/<domain>.npz    vc image data <builder>
#      (--builder for the pair models; --stargan_builder, default the same, for stargan)
#   1  train each of --systems: cyclegan (CycleGAN) and shared_latent (UNIT-style shared latent)
#      on the pair --domains "X Y", stargan (StarGAN) on every domain of its data dir;
#      exp/<system> (--tag T: exp/<system>_T). --ngpu/--num_nodes/--cpu_procs > 1: DDP under torchrun
#   2  translate each test set into the other domains      exp/<system>/translate/test
#   3  score translations and the untranslated sources with the domain and content classifiers
#      (trained once per data dir, kept in exp/classifiers)  exp/<system>/evaluate/results.json
#   4  the report: exp/report/index.html, and the table (exp/report/summary.txt)
# Run a range with --stage N --stop_stage M. Jobs run through $train_cmd / $cuda_cmd (cmd.sh).
set -euo pipefail
cd "$(dirname "$0")"
. ./path.sh
. ./cmd.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/common.sh"

stop_stage=4
builder=""            # vc image data builder of the pair models' data: fashion_edges, digits
stargan_builder=""    # stargan's data (default: --builder), e.g. fonts
data_opts=""          # more options for vc image data, e.g. "--n-train 500"
stargan_data_opts=""  # the same for stargan's data dir, when it has a builder of its own
seed=1                # the data's seed
domains=""            # the pair models' "X Y" (X -> Y is the first direction)
systems="cyclegan shared_latent"
cyclegan_conf=conf/cyclegan_quick.yaml
shared_latent_conf=conf/shared_latent_quick.yaml
stargan_conf=conf/stargan_quick.yaml
classifier_steps=500  # training steps of each metric classifier
examples=8            # test images per grid row in the report
help_message="Usage: $0 [options]; the stages are listed at the top of $(readlink -f "$0")
  --stage 0 --stop_stage 4 --ngpu 0 --num_nodes 1 --cpu_procs 1 --conf FILE --train_opts \"...\" --tag TAG
  --train_cmd \"utils/run.pl\" --cuda_cmd \"utils/run.pl --gpu 1\" (defaults from cmd.sh)
  --builder NAME --stargan_builder NAME --data_opts \"...\" --stargan_data_opts \"...\" --seed 1
  --domains \"X Y\" --systems \"cyclegan shared_latent stargan\" --cyclegan_conf FILE
  --shared_latent_conf FILE --stargan_conf FILE --classifier_steps 500 --examples 8"

. utils/parse_options.sh

command -v vc >/dev/null || die "'vc' not found; run 'make install' in the repository root"
[ -n "$builder" ] || die "--builder is required (fashion_edges, digits or fonts)"
stargan_builder=${stargan_builder:-$builder}
check_scaling
SECONDS=0

conf_of() {
  if [ -n "$conf" ]; then echo "$conf"; return; fi
  case $1 in cyclegan) echo "$cyclegan_conf" ;; shared_latent) echo "$shared_latent_conf" ;;
             stargan) echo "$stargan_conf" ;; esac
}
name_of() {
  case $1 in cyclegan) echo CycleGAN ;; shared_latent) echo "Shared latent" ;; stargan) echo StarGAN ;; esac
}
exp_dir() { echo "exp/$1${tag:+_$tag}"; }
data_of() { if [ "$1" = stargan ]; then echo "data/$stargan_builder"; else echo "data/$builder"; fi; }
for system in $systems; do
  [ -n "$(name_of "$system")" ] || die "unknown system '$system' (cyclegan, shared_latent, stargan)"
  [ "$system" = stargan ] || [ "$(echo $domains | wc -w)" -eq 2 ] ||
    die "--domains \"X Y\" is required for $system (it translates one pair)"
done
[ -z "$conf" ] || [ "$(echo $systems | wc -w)" -eq 1 ] ||
  die "--conf takes the config of one system; with --systems \"$systems\" use --<system>_conf"

if [ "$stage" -le 0 ] && [ "$stop_stage" -ge 0 ]; then
  built=" "
  for system in $systems; do
    data=$(data_of "$system")
    case $built in *" $data "*) continue ;; esac
    built="$built$data "
    opts=$data_opts
    [ "$data" = "data/$builder" ] || opts=$stargan_data_opts
    log "stage 0: $data (vc image data ${data#data/} --seed $seed $opts)"
    # shellcheck disable=SC2086  # the *_data_opts are lists of words
    vc image data "${data#data/}" --out "$data" --seed "$seed" $opts
  done
fi

if [ "$stage" -le 1 ] && [ "$stop_stage" -ge 1 ]; then
  for system in $systems; do
    exp=$(exp_dir "$system")
    pair=()
    [ "$system" = stargan ] || pair=(--domains "$(echo $domains | tr ' ' ,)")
    log "stage 1: train $system ($(conf_of "$system")) on $(data_of "$system"); progress in $exp/log/train.log"
    # shellcheck disable=SC2086
    launch_vc "$exp/log/vc_train.log" image train --conf "$(conf_of "$system")" --exp "$exp" \
      --data "$(data_of "$system")" "${pair[@]}" $train_opts
    tail -n 3 "$exp/log/vc_train.log" | head -n 1
  done
fi

if [ "$stage" -le 2 ] && [ "$stop_stage" -ge 2 ]; then
  for system in $systems; do
    exp=$(exp_dir "$system")
    log "stage 2: translate $(data_of "$system")/test with $system"
    ${train_cmd} "$exp/log/translate.log" \
      vc image translate --model "$exp" --data "$(data_of "$system")" --split test --out "$exp/translate/test"
    tail -n 3 "$exp/log/translate.log" | head -n 1
  done
fi

if [ "$stage" -le 3 ] && [ "$stop_stage" -ge 3 ]; then
  for system in $systems; do
    exp=$(exp_dir "$system")
    log "stage 3: score $system's translations (classifiers: $classifier_steps steps, kept in exp/classifiers)"
    ${train_cmd} "$exp/log/evaluate.log" \
      vc image evaluate --model "$exp" --translated "$exp/translate/test" --out "$exp/evaluate" \
        --label "$(name_of "$system")" --cache-dir exp/classifiers --classifier-steps "$classifier_steps"
    tail -n 3 "$exp/log/evaluate.log" | head -n 1
  done
fi

if [ "$stage" -le 4 ] && [ "$stop_stage" -ge 4 ]; then
  log "stage 4: the report of $systems"
  recipe="$(basename "$(dirname "$(pwd -P)")")/$(basename "$(pwd -P)")"
  mkdir -p exp/report
  results=()
  for system in $systems; do results+=("$(exp_dir "$system")/evaluate"); done
  vc image report "${results[@]}" --out exp/report --examples "$examples" \
    --title "egs/$recipe: $systems" \
    > exp/report/summary.txt.new || { rm -f exp/report/summary.txt.new; exit 1; }
  mv exp/report/summary.txt.new exp/report/summary.txt
  echo
  echo "Summary ($recipe, $(( SECONDS / 60 )) min $(( SECONDS % 60 )) s)"
  cat exp/report/summary.txt
fi
