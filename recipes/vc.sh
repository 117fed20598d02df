#!/usr/bin/env bash
# The voice conversion pipeline every egs/*/vc1/run.sh calls (ESPnet2 style: run.sh sets the
# corpus' defaults and passes "$@" on, so any option below can be given to run.sh). Stages:
#   0  download the corpus (or synthesize it)                  local/data.sh stage 0
#   1  Kaldi data dirs data/{train,dev,eval} (+ data/heldout)  local/data.sh stage 1
#      train/dev are non-parallel; eval is parallel: <spk><sentence> ids, the same
#      <sentence> for every speaker who says it (--eval_parallel false: a corpus whose eval set
#      is non-parallel too; stages 3 and 7 then score without the target's same sentence)
#   2  phones of every data set with a text file (vc phonemize: data/<set>/phones; not with
#      --phones_conf none), then features and statistics   dump/<set> (with its phones), dump/train/stats.npz
#   3  copy synthesis with each of --vocoders of the eval set's source and target speakers
#      (data/eval_bound)                                        exp/copysynth_<vocoder>/eval:
#      the vocoder bound, scored in stage 7 beside the systems that use the same vocoder;
#      with --eval_parallel false also the ASR's reading of the copies of --asr_spks' speech,
#      the reference transcripts of word error                  exp/copysynth_<vocoder>/eval/text
#   4  train the phone recogniser (--phones_conf; skipped with none or when data/train has no
#      phones), exp/phones, and print its phone error rate on dump/dev
#   5  train each of --systems: cyclegan (CycleGAN-VC on src_spk <-> tgt_spk, exp/cyclegan_<src>_<tgt>),
#      stargan (StarGAN-VC on every training speaker, exp/stargan) and disentangle (content
#      encoder + speaker encoders + decoder on every training speaker, exp/disentangle), and
#      their streaming twins with causal networks (cyclegan_stream, disentangle_stream:
#      exp/cyclegan_stream_<src>_<tgt>, exp/disentangle_stream; vc stream, docs/stream.md);
#      --tag T appends _T to these names. --ngpu/--num_nodes/--cpu_procs > 1: DDP under torchrun
#   6  convert the parallel eval set src_spk -> tgt_spk with each system and each of --vocoders
#      (gl: Griffin-Lim; world: WORLD synthesis, for WORLD features; or a vocoder experiment
#      dir; auto: gl and whichever of ../voc1's parallel_wavenet and wavenet are trained)
#                                                                 <exp>/convert/eval_<vocoder>;
#      (and rtisi_la or rtpghi, the streaming vocoders, for any system: the *_stream systems
#      then run in 20 ms blocks, as vc stream does);
#      the multi-target systems (stargan, disentangle[_stream]) also to each --extra_tgt_spks speaker
#                                                                 <exp>/convert/eval_<spk>_<vocoder>;
#      disentangle[_stream] also one-shot to each --heldout_spks speaker from --n_ref of their
#      recordings in data/heldout                                 <exp>/convert/eval_oneshot_<spk>_<vocoder>
#   7  score every conversion and, per target, four references: the unconverted source (lower
#      bound, exp/reference/source_<src>_<tgt>), the target's real recordings (upper bound,
#      exp/reference/target_<tgt>), and both copy-synthesised through each vocoder (the vocoder
#      bound, exp/reference/{source_<src>_<tgt>,target_<tgt>}_<vocoder>): MCD-DTW, F0, speaker
#      similarity, ASR error, DNSMOS (--eval_metrics); disentangle's latent speaker probe. ASR
#      error only of rows whose words a --asr_spks speaker says (the recogniser is English);
#      --eval_parallel false: no MCD and F0, and word error against the copy synthesis' reading
#   8  the report: exp/report/index.html, the summary table and the targets
# Run a range with --stage N --stop_stage M. Jobs run through $train_cmd / $cuda_cmd
# (cmd.sh: utils/run.pl here, utils/slurm.pl on a cluster), logs under dump/*/log and exp/*/log.
set -euo pipefail
cd "$(dirname "$0")"
. ./path.sh
. ./cmd.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/common.sh"

stop_stage=8
n_ref=5           # recordings of each --heldout_spks speaker used as one-shot references
src_spk=""
tgt_spk=""
extra_tgt_spks="" # more training speakers the multi-target systems (stargan, disentangle) convert to
systems="cyclegan stargan disentangle"
cyclegan_conf=conf/cyclegan_quick.yaml
stargan_conf=conf/stargan_quick.yaml
disentangle_conf=conf/disentangle_quick.yaml
cyclegan_stream_conf=conf/cyclegan_stream_quick.yaml
disentangle_stream_conf=conf/disentangle_stream_quick.yaml
phones_conf=conf/phones_quick.yaml  # the phone recogniser's config; none: no phones, no recogniser
vocoders=auto     # auto, or gl, world and/or vocoder experiment dirs (../voc1 trains them on these features)
eval_metrics=mcd,f0,speaker,asr,mos
eval_parallel=true  # false: the eval set's speakers read different sentences (no MCD or F0)
asr_spks=""         # speakers whose speech the (English) ASR scores; empty: every speaker
help_message="Usage: $0 [options]; the stages are listed at the top of $(readlink -f "$0")
  $common_help
  --stop_stage 8 --src_spk SPK --tgt_spk SPK --extra_tgt_spks \"spk ...\" --n_ref 5
  --systems \"cyclegan stargan disentangle cyclegan_stream disentangle_stream\" --cyclegan_conf FILE
  --stargan_conf FILE --disentangle_conf FILE --cyclegan_stream_conf FILE --disentangle_stream_conf FILE
  --phones_conf FILE|none --vocoders auto --eval_metrics mcd,f0,speaker,asr,mos --eval_parallel true
  --asr_spks \"spk ...\""

. utils/parse_options.sh

command -v vc >/dev/null || die "'vc' not found; run 'make install' in the repository root"
[ -n "$src_spk" ] && [ -n "$tgt_spk" ] || die "--src_spk and --tgt_spk are required"
check_scaling
case $eval_parallel in true|false) ;; *) die "--eval_parallel must be true or false, got '$eval_parallel'" ;; esac
SECONDS=0

# Where each system's experiment lives, its config, and what it trains on.
exp_dir() {
  case $1 in cyclegan|cyclegan_stream) echo "exp/$1_${src_spk}_${tgt_spk}${tag:+_$tag}" ;;
             stargan|disentangle|disentangle_stream) echo "exp/$1${tag:+_$tag}" ;; esac
}
conf_of() {
  if [ -n "$conf" ]; then echo "$conf"; return; fi
  case $1 in cyclegan) echo "$cyclegan_conf" ;; stargan) echo "$stargan_conf" ;; disentangle) echo "$disentangle_conf" ;;
             cyclegan_stream) echo "$cyclegan_stream_conf" ;; disentangle_stream) echo "$disentangle_stream_conf" ;; esac
}
speakers_of() { case $1 in cyclegan|cyclegan_stream) echo "--speakers $src_spk,$tgt_spk" ;; *) echo "" ;; esac; }
name_of() {
  case $1 in cyclegan) echo CycleGAN-VC ;; stargan) echo StarGAN-VC ;; disentangle) echo Disentangle ;;
             cyclegan_stream) echo "CycleGAN-VC streaming" ;; disentangle_stream) echo "Disentangle streaming" ;; esac
}
multi_target() { case $1 in stargan|disentangle|disentangle_stream) true ;; *) false ;; esac; }
oneshot_system() { case $1 in disentangle|disentangle_stream) true ;; *) false ;; esac; }
for system in $systems; do
  [ -n "$(exp_dir "$system")" ] ||
    die "unknown system '$system' (cyclegan, stargan, disentangle, cyclegan_stream, disentangle_stream)"
done
[ -z "$conf" ] || [ "$(echo $systems | wc -w)" -eq 1 ] ||
  die "--conf takes the config of one system; with --systems \"$systems\" use --<system>_conf"
has_system() { case " $systems " in *" $1 "*) true ;; *) false ;; esac; }
listed() { case " $2 " in *" $1 "*) true ;; *) false ;; esac; }  # is word $1 in list $2
for spk in $tgt_spk $extra_tgt_spks; do
  [ "$spk" != "$src_spk" ] || die "--tgt_spk/--extra_tgt_spks: $spk is the source speaker"
  ! listed "$spk" "$heldout_spks" ||
    die "--tgt_spk/--extra_tgt_spks: $spk is kept out of training (--heldout_spks); it is a one-shot target already"
done
! listed "$tgt_spk" "$extra_tgt_spks" || die "--extra_tgt_spks: $tgt_spk is --tgt_spk already"
if [ "$phones_conf" != none ] && [ "$stage" -le 4 ] && [ "$stop_stage" -ge 2 ] && [ ! -f "$phones_conf" ]; then
  die "--phones_conf $phones_conf: not found (a phone recogniser config, or none for no phone recogniser)"
fi

# Every target of the report: --tgt_spk; --extra_tgt_spks when a multi-target system converts
# to them; --heldout_spks when disentangle converts to them one-shot.
extra_targets() { for system in $systems; do if multi_target "$system"; then echo "$extra_tgt_spks"; return; fi; done; }
oneshot_targets() { for system in $systems; do if oneshot_system "$system"; then echo "$heldout_spks"; return; fi; done; }
targets="$tgt_spk $(extra_targets) $(oneshot_targets)"

vocoder_name() { case $1 in gl|world|rtisi_la|rtpghi) echo "$1" ;; *) basename "$1" ;; esac; }
vocoder_args() { case $1 in gl) echo "--vocoder gl --iters $gl_iters" ;; *) echo "--vocoder $1" ;; esac; }
# A streaming system with a streaming vocoder converts as `vc stream` does, in 20 ms blocks.
stream_args() { case $1:$2 in *_stream:rtisi_la|*_stream:rtpghi) echo "--stream-block-ms 20" ;; esac; }
vocoder_title() { case $1 in gl) echo "Griffin-Lim" ;; world) echo WORLD ;; rtisi_la) echo RTISI-LA ;; rtpghi) echo RTPGHI ;; *) basename "$1" ;; esac; }
copy_dir() { echo "exp/copysynth_$(vocoder_name "$1")/eval"; }
# The metrics of a row whose words speaker $1 says: no asr where the ASR cannot read $1, no
# mcd or f0 on a non-parallel eval set.
asr_reads() { [ -z "$asr_spks" ] || listed "$1" "$asr_spks"; }
row_metrics() {
  local drop=""
  asr_reads "$1" || drop="asr"
  [ "$eval_parallel" = true ] || drop="$drop mcd f0"
  echo "$eval_metrics" | awk -F, -v drop="$drop" '{n = split(drop, d, " "); for (i = 1; i <= n; i++) skip[d[i]] = 1
    out = ""; for (i = 1; i <= NF; i++) if ($i != "" && !($i in skip)) out = out (out == "" ? "" : ",") $i; print out}'
}
if [ "$vocoders" = auto ]; then
  vocoders=gl
  for vocoder in ../voc1/exp/parallel_wavenet ../voc1/exp/wavenet; do
    if compgen -G "$vocoder/checkpoints/*.pt" >/dev/null; then vocoders="$vocoders $vocoder"; fi
  done
fi
for vocoder in $vocoders; do
  case $vocoder in gl|world|rtisi_la|rtpghi) continue ;; esac
  [ -f "$vocoder/config.yaml" ] || die "--vocoders: '$vocoder' is neither gl, world, rtisi_la, rtpghi nor a" \
    "trained vocoder experiment (no $vocoder/config.yaml)"
done

if [ "$stage" -le 1 ] && [ "$stop_stage" -ge 0 ]; then
  run_local_data "$stage" "$((stop_stage < 1 ? stop_stage : 1))"
fi

if [ "$stage" -le 2 ] && [ "$stop_stage" -ge 2 ]; then
  if [ "$phones_conf" != none ]; then
    transcribed=$(for set in train dev eval heldout; do [ ! -f "data/$set/text" ] || echo "data/$set"; done)
    if [ -n "$transcribed" ]; then
      log "stage 2: phones of" $transcribed "(espeak-ng)"
      # shellcheck disable=SC2086
      ${train_cmd} data/log/phonemize.log vc phonemize --data $transcribed
      grep -v '^#' data/log/phonemize.log
    fi
  fi
  log "stage 2: features ($feats_conf) and statistics"
  extract_features
fi

if [ "$stage" -le 3 ] && [ "$stop_stage" -ge 3 ]; then
  speakers=$(echo "$src_spk" $targets | tr ' ' ',')
  log "stage 3: copy synthesis of the eval set's $speakers with each of: $vocoders ($nj jobs)"
  rm -rf data/eval_bound
  vc data subset data/eval data/eval_bound --speakers "$speakers"
  vc data split data/eval_bound --parts "$nj" --out "data/eval_bound/split$nj"
  for vocoder in $vocoders; do
    dir=$(copy_dir "$vocoder")
    rm -rf "$dir"
    # shellcheck disable=SC2046
    ${train_cmd} JOB=1:"$nj" "$dir/log/vocode.JOB.log" \
      vc vocode $(vocoder_args "$vocoder") --conf "$feats_conf" --data "data/eval_bound/split$nj/JOB" --out "$dir/JOB"
    cat "$dir"/*/wav.scp | sort > "$dir/wav.scp"
    # scores.tsv: utt seconds spectral_convergence lsd_db mrstft mcd_db (one header line per job).
    cat "$dir"/*/scores.tsv | awk '$1 != "utt"' | sort > "$dir/scores.tsv"
    if [ "$eval_parallel" = false ]; then
      # The eval set has no shared sentences: word error is read against what the ASR hears
      # in the copy synthesis of the same input (utterances of --asr_spks speakers only).
      awk -v spks="${asr_spks:-*}" 'BEGIN {n = split(spks, s, " "); for (i = 1; i <= n; i++) want[s[i]] = 1}
        spks == "*" || $2 in want {print $1}' data/eval_bound/utt2spk > "$dir/asr_utts"
      if [ -s "$dir/asr_utts" ]; then
        log "stage 3: the ASR's reading of the $(vocoder_title "$vocoder") copies ($(wc -l < "$dir/asr_utts") utterances)"
        ${train_cmd} "$dir/log/transcribe.log" \
          vc evaluate transcribe --wavs "$dir/wav.scp" --utts "$dir/asr_utts" --out "$dir/text" --quiet
        grep -v '^#' "$dir/log/transcribe.log" | tail -n 1
      fi
    fi
  done
fi

if [ "$stage" -le 4 ] && [ "$stop_stage" -ge 4 ]; then
  if [ "$phones_conf" = none ]; then
    log "stage 4: no phone recogniser (--phones_conf none)"
  elif [ ! -f data/train/phones ]; then
    log "stage 4: no phone recogniser: data/train has no phones (no transcripts to phonemize)"
  else
    log "stage 4: train the phone recogniser ($phones_conf); progress in exp/phones/log/train.log"
    # shellcheck disable=SC2086
    launch_train exp/phones/log/vc_train.log --conf "$phones_conf" --exp exp/phones \
      --train-dump dump/train --valid-dump dump/dev $train_opts
    tail -n 3 exp/phones/log/vc_train.log | head -n 1
    ${train_cmd} exp/phones/log/evaluate_dev.log \
      vc evaluate phones --model exp/phones --dump dump/dev --out exp/phones/evaluate/dev
    grep -v '^#' exp/phones/log/evaluate_dev.log
  fi
fi

if [ "$stage" -le 5 ] && [ "$stop_stage" -ge 5 ]; then
  for system in $systems; do
    exp=$(exp_dir "$system")
    log "stage 5: train $system ($(conf_of "$system")); progress in $exp/log/train.log"
    # shellcheck disable=SC2046,SC2086
    launch_train "$exp/log/vc_train.log" --conf "$(conf_of "$system")" --exp "$exp" \
      --train-dump dump/train --valid-dump dump/dev $(speakers_of "$system") $train_opts
    tail -n 3 "$exp/log/vc_train.log" | head -n 1
  done
fi

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
      multi_target "$system" || continue
      for spk in $extra_tgt_spks; do
        printf '%s\t%s\t%s\t%s\n' "$system" "eval_${spk}_$(vocoder_name "$vocoder")" "$spk" "$vocoder"
      done
      oneshot_system "$system" || continue
      for spk in $heldout_spks; do
        printf '%s\t%s\t%s\t%s\n' "$system" "eval_oneshot_${spk}_$(vocoder_name "$vocoder")" "$spk" "$vocoder"
      done
    done
  done
}
oneshot_set() { case $1 in eval_oneshot_*) true ;; *) false ;; esac; }

if [ "$stage" -le 6 ] && [ "$stop_stage" -ge 6 ]; then
  for spk in $heldout_spks; do
    grep -q "^$spk " data/heldout/spk2utt 2>/dev/null ||
      die "--heldout_spks $spk: not in data/heldout/spk2utt (rerun stage 1 with the same --heldout_spks)"
  done
  for spk in $targets; do
    grep -q "^$spk " data/eval/spk2utt || die "$spk: a target with no recordings in data/eval/spk2utt"
  done
  conversions | while IFS=$'\t' read -r system set tgt vocoder; do
    exp=$(exp_dir "$system")
    log "stage 6: convert the eval set with $system, $src_spk -> $tgt ($set)"
    if oneshot_set "$set"; then target_args=$(oneshot_refs "$tgt"); else target_args="--tgt-spk $tgt"; fi
    # shellcheck disable=SC2046,SC2086
    ${train_cmd} "$exp/log/convert_$set.log" \
      vc convert --model "$exp" --src-spk "$src_spk" $target_args --data data/eval \
        $(vocoder_args "$vocoder") $(stream_args "$system" "$vocoder") --nj "$nj" --out "$exp/convert/$set" </dev/null
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

results=exp/results.list  # every result dir; the report orders them by kind
probe_dir="$(exp_dir disentangle)/evaluate/disentangle"
if [ "$stage" -le 7 ] && [ "$stop_stage" -ge 7 ]; then
  mkdir -p exp
  : > "$results"
  evaluate() {  # log, out, the speaker whose words are scored, the vocoder, then vc evaluate's arguments
    local log=$1 out=$2 speaker=$3 vocoder=$4 metrics; shift 4
    metrics=$(row_metrics "$speaker")
    [ -n "$metrics" ] || { log "stage 7: $out: no metric of '$eval_metrics' applies; skipped"; return; }
    echo "$out" >> "$results"
    # Non-parallel: word error against the ASR's reading of this vocoder's copy synthesis.
    local pairing=()
    if [ "$eval_parallel" = false ]; then
      pairing=(--nonparallel)
      case ",$metrics," in *,asr,*) pairing+=(--text "$(copy_dir "$vocoder")/text") ;; esac
    fi
    in_background ${train_cmd} "$log" vc evaluate "$@" --data data/eval --metrics "$metrics" \
      "${pairing[@]}" --cache-dir exp/reference/cache --quiet --out "$out"
  }
  first_vocoder=${vocoders%% *}
  first=1
  for tgt in $targets; do
    log "stage 7: references for $src_spk -> $tgt: the unconverted source and $tgt's real recordings, and both" \
      "copy-synthesised with each vocoder"
    evaluate "exp/reference/log/source_${src_spk}_$tgt.log" "exp/reference/source_${src_spk}_$tgt" \
      "$src_spk" "$first_vocoder" --reference source --src-spk "$src_spk" --tgt-spk "$tgt"
    # The first job embeds every data/eval speaker for speaker similarity; the rest reuse its cache.
    [ "$first" = 0 ] || wait_all
    first=0
    evaluate "exp/reference/log/target_$tgt.log" "exp/reference/target_$tgt" \
      "$tgt" "$first_vocoder" --reference target --src-spk "$src_spk" --tgt-spk "$tgt"
    for vocoder in $vocoders; do
      name=$(vocoder_name "$vocoder")
      for role in source target; do
        speaker=$(if [ $role = source ]; then echo "$src_spk"; else echo "$tgt"; fi)
        out=$(if [ $role = source ]; then echo "source_${src_spk}_$tgt"; else echo "target_$tgt"; fi)_$name
        evaluate "exp/reference/log/$out.log" "exp/reference/$out" "$speaker" "$vocoder" --reference "copysynth-$role" \
          --copysynth "$(copy_dir "$vocoder")" --src-spk "$src_spk" --tgt-spk "$tgt" \
          --label "$role, $(vocoder_title "$vocoder")" --vocoder "$name"
      done
    done
  done
  while IFS=$'\t' read -r system set tgt vocoder; do
    exp=$(exp_dir "$system")
    label="$(name_of "$system")$(oneshot_set "$set" && echo " one-shot"), $(vocoder_title "$vocoder")"
    log "stage 7: score $label, $src_spk -> $tgt"
    evaluate "$exp/log/evaluate_$set.log" "$exp/evaluate/$set" "$src_spk" "$vocoder" --converted "$exp/convert/$set" \
      --tgt-spk "$tgt" --label "$label" --model "$exp" --vocoder "$(vocoder_name "$vocoder")" \
      $(oneshot_set "$set" && echo --oneshot)
  done < <(conversions)
  wait_all
  if has_system disentangle; then
    exp=$(exp_dir disentangle)
    log "stage 7: latent speaker probe on dump/eval (content codes vs input features)"
    ${train_cmd} "$exp/log/evaluate_disentangle.log" \
      vc evaluate disentangle --model "$exp" --dump dump/eval --out "$probe_dir"
  fi
fi

if [ "$stage" -le 8 ] && [ "$stop_stage" -ge 8 ]; then
  log "stage 8: the report of every result in $results"
  mkdir -p exp/report
  probes=()
  if has_system disentangle && [ -f "$probe_dir/summary.json" ]; then probes=(--probe "$probe_dir"); fi
  # shellcheck disable=SC2046
  vc report $(cat "$results") "${probes[@]}" --out exp/report --title "egs/$(basename "$(dirname "$(pwd -P)")")/$(basename "$(pwd -P)"): $src_spk -> $tgt_spk$(
    [ -z "$(extra_targets)" ] || echo ", $(extra_targets)")$(
    [ -z "$(oneshot_targets)" ] || echo " and one-shot to $(oneshot_targets)")" \
    > exp/report/summary.txt.new || { rm -f exp/report/summary.txt.new; exit 1; }
  mv exp/report/summary.txt.new exp/report/summary.txt
fi

if [ "$stop_stage" -ge 3 ] && [ -f data/eval_bound/utt2spk ]; then
  echo
  echo "Summary ($(basename "$(pwd -P)"), $(( SECONDS / 60 )) min $(( SECONDS % 60 )) s)"
  printf "  corpus          %d speakers; %d train, %d dev (non-parallel), %d eval (%s) utterances\n" \
    "$(wc -l < data/train/spk2utt)" "$(wc -l < data/train/utt2spk)" "$(wc -l < data/dev/utt2spk)" \
    "$(wc -l < data/eval/utt2spk)" "$([ "$eval_parallel" = true ] && echo parallel || echo non-parallel)"
  awk '{n++; f += $2} END {printf "  features        %d frames in dump/train, dump/dev, dump/eval\n", f}' dump/*/utt2num_frames
  for vocoder in $vocoders; do
    scores=$(copy_dir "$vocoder")/scores.tsv
    [ -s "$scores" ] || continue
    awk -v name="$(vocoder_title "$vocoder")" '{n++; sec += $2; sc += $3; lsd += $4; mcd += $6}
         END {printf "  copy synthesis  %s: mean spectral convergence %.3f, log-spectral distance %.2f dB, MCD %.2f dB over %.1f s\n",
              name, sc / n, lsd / n, mcd / n, sec}' "$scores"
  done
  echo "  copy-synthesized wavs: exp/copysynth_*/eval/wav.scp"
fi
if [ "$stop_stage" -ge 4 ] && [ "$phones_conf" != none ] && [ -f exp/phones/log/evaluate_dev.log ]; then
  echo
  grep -v '^#' exp/phones/log/evaluate_dev.log
fi
if [ "$stop_stage" -ge 7 ] && has_system disentangle && [ -f "$(exp_dir disentangle)/log/evaluate_disentangle.log" ]; then
  echo
  grep -v '^#' "$(exp_dir disentangle)/log/evaluate_disentangle.log"
fi
if [ "$stop_stage" -ge 8 ] && [ -f exp/report/summary.txt ]; then
  echo
  cat exp/report/summary.txt
fi
