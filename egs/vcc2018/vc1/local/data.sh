#!/usr/bin/env bash
# Data preparation for the Voice Conversion Challenge 2018 database (Lorenzo-Trueba et al. 2018;
# 22.05 kHz, from the DAPS corpus):
#   stage 0: download it into --db_root (local/download.sh), unless it is already there
#   stage 1: Kaldi data dirs data/train, data/dev, data/eval and, with --heldout_spks, data/heldout
# Layout read (the unpacked archives):
#   DB_ROOT/vcc2018_training/VCC2SF1/10001.wav ...  hub speakers SF1 SF2 SM1 SM2 TF1 TF2 TM1 TM2
#                                                   read 10001-10081; spoke sources SF3 SF4 SM3 SM4
#                                                   read 20001-20081, other sentences
#   DB_ROOT/vcc2018_training/Transcriptions/**/<number>.txt   training transcripts
#   DB_ROOT/vcc2018_evaluation/VCC2SF1/30001.wav ... 30035   the sources' evaluation sentences
#   DB_ROOT/vcc2018_reference/VCC2TF1/30001.wav ... 30035    the targets' recordings of them
#   DB_ROOT/scripts/30001.txt ...                   evaluation transcripts (released after the challenge)
# Utterance ids are <spk>_<number>, e.g. SF1_10001 and TF1_30001.
#
# The split. The hub training sentences are parallel (everyone read 10001-10081). To train
# non-parallel, as the papers that use VCC2018 for non-parallel VC do, each side of a conversion
# keeps a different half:
#   train/dev: sources (--srcs) keep the odd-numbered training sentences, targets (--tgts) the
#              even-numbered ones, so no source shares a training sentence with any target (sources
#              do share theirs with each other, and targets with each other: never a converted pair).
#              dev is the last --n_dev of each speaker's half.
#   eval:      30001-30035 of every chosen speaker, from vcc2018_evaluation (sources) or
#              vcc2018_reference (targets): parallel. Only numbers every chosen speaker has are kept.
#   heldout:   the --heldout_spks speakers' training recordings (one-shot references; never
#              trained on). The spoke sources SF3 SF4 SM3 SM4 fit: their 20001-20081 are nobody
#              else's sentences.
set -euo pipefail
export LC_ALL=C

stage=0
stop_stage=1
db_root=downloads              # holds vcc2018_training/, vcc2018_evaluation/, vcc2018_reference/, scripts/
data=data                      # where the data dirs go
srcs="SF1 SF2 SM1 SM2"         # source speakers: the odd-numbered training sentences; commas or spaces
tgts="TF1 TF2 TM1 TM2"         # target speakers: the even-numbered ones
heldout_spks=""                # speakers kept out of training, for one-shot conversion (e.g. "SF3 SM3")
n_dev=5                        # dev utterances per training speaker
nj=1                           # unused: accepted because recipes/vc.sh passes it
help_message="Usage: $0 [--stage 0] [--stop_stage 1] [--db_root downloads] [--srcs SF1,SF2,SM1,SM2]
                [--tgts TF1,TF2,TM1,TM2] [--heldout_spks \"SF3 SM3\"] [--n_dev 5]"

. utils/parse_options.sh
. ./path.sh

die() { echo "$0: $*" >&2; exit 1; }
srcs=${srcs//,/ }
tgts=${tgts//,/ }
heldout_spks=${heldout_spks//,/ }

if [ "$stage" -le 0 ] && [ "$stop_stage" -ge 0 ]; then
  if [ -d "$db_root/vcc2018_training" ] && [ -d "$db_root/vcc2018_evaluation" ] && [ -d "$db_root/vcc2018_reference" ]; then
    echo "$0 stage 0: VCC2018 is in $db_root; nothing to download"
  else
    echo "$0 stage 0: download VCC2018 into $db_root"
    local/download.sh "$db_root"
  fi
fi

if [ "$stage" -le 1 ] && [ "$stop_stage" -ge 1 ]; then
  echo "$0 stage 1: data/train, data/dev, data/eval${heldout_spks:+, data/heldout}: $srcs -> $tgts${heldout_spks:+ (held out: $heldout_spks)}"
  for part in vcc2018_training vcc2018_evaluation vcc2018_reference; do
    [ -d "$db_root/$part" ] || die "$db_root/$part not found: run stage 0 or pass --db_root"
  done
  db=$(cd "$db_root" && pwd)
  [[ $db != *[[:space:]]* ]] || die "'$db' contains whitespace, which wav.scp cannot hold: move the corpus"
  [ -n "$srcs" ] && [ -n "$tgts" ] || die "--srcs and --tgts need a speaker each"
  dup=$(printf '%s\n' $srcs $tgts $heldout_spks | sort | uniq -d | head -n 1)
  [ -z "$dup" ] || die "speaker $dup is given twice (--srcs, --tgts and --heldout_spks must be disjoint)"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT

  # spk role number path: every training and evaluation recording of the chosen speakers.
  for spk in $srcs $tgts $heldout_spks; do
    case " $srcs " in *" $spk "*) role=src ;; *) case " $tgts " in *" $spk "*) role=tgt ;; *) role=heldout ;; esac ;; esac
    dir=$db/vcc2018_training/VCC2$spk
    [ -d "$dir" ] || die "$dir not found: not a VCC2018 speaker (SF1-SF4, SM1-SM4, TF1, TF2, TM1, TM2)"
    eval_dir=$db/vcc2018_evaluation/VCC2$spk
    [ -d "$eval_dir" ] || eval_dir=$db/vcc2018_reference/VCC2$spk
    [ -d "$eval_dir" ] || die "neither $db/vcc2018_evaluation/VCC2$spk nor $db/vcc2018_reference/VCC2$spk found: an incomplete copy of VCC2018?"
    find "$dir" "$eval_dir" -maxdepth 1 -name '[0-9]*.wav' |
      awk -v spk="$spk" -v role="$role" '{n = $0; sub(/.*\//, "", n); sub(/\.wav$/, "", n); print spk, role, n, $0}'
  done | sort -k1,1 -k3,3 > "$tmp/recordings"

  # number text, from every transcript (files named <number>.txt, one sentence each).
  for dir in "$db/vcc2018_training" "$db/scripts"; do
    [ ! -d "$dir" ] || find "$dir" -name '[0-9]*.txt' -print0
  done | xargs -0 -r awk '
    {sub(/\r$/, ""); text[FILENAME] = text[FILENAME] " " $0}
    END {
      for (f in text) {
        n = f; sub(/.*\//, "", n); sub(/\.txt$/, "", n)
        t = text[f]; gsub(/[ \t]+/, " ", t); sub(/^ /, "", t); sub(/ $/, "", t)
        if (t != "") print n, t
      }
    }' | sort -u -k1,1 > "$tmp/number2text"

  # Assign each recording to train, dev, eval or heldout: see the header. Out: utt spk set path
  awk -v n_dev="$n_dev" -v n_all="$(echo $srcs $tgts $heldout_spks | wc -w)" -v prog="$0" '
    FNR == 1 {pass++}
    pass == 1 {if ($3 >= 30000) speakers[$3]++; else if ($2 == "heldout" || ($3 % 2 == ($2 == "src"))) share[$1]++; next}
    $3 >= 30000 {if (speakers[$3] == n_all) print $1 "_" $3, $1, "eval", $4; next}
    $2 == "heldout" {print $1 "_" $3, $1, "heldout", $4; next}
    $3 % 2 == ($2 == "src") {print $1 "_" $3, $1, (++taken[$1] <= share[$1] - n_dev ? "train" : "dev"), $4}
    END {
      for (s in share) if (s in taken && share[s] <= n_dev) {
        printf "%s: %s has %d training sentences in its half, too few for --n_dev %d\n", prog, s, share[s], n_dev | "cat 1>&2"
        exit 1
      }
    }' "$tmp/recordings" "$tmp/recordings" | sort > "$tmp/split"
  n_eval=$(awk '$3 == "eval"' "$tmp/split" | wc -l)
  [ "$n_eval" -gt 0 ] || die "no evaluation sentence (300NN) is there for every one of $srcs $tgts $heldout_spks"
  echo "$0: eval: $(awk '$3 == "eval" {sub(/.*_/, "", $1); print $1}' "$tmp/split" | sort -u | wc -l) sentences that every speaker has"
  awk '$3 == "train" {print $2}' "$tmp/split" | sort -u > "$tmp/speakers"
  for spk in $srcs $tgts; do
    grep -qx "$spk" "$tmp/speakers" || die "$db/vcc2018_training/VCC2$spk holds no training recordings"
  done
  awk -v prog="$0" -v db="$db" 'NR == FNR {text[$1] = $0; sub(/^[^ ]+ /, "", text[$1]); next}
       {n = $1; sub(/.*_/, "", n); if (n in text) print $1, text[n]; else missing++}
       END {if (missing) printf "%s: %d utterances have no transcript (is %s/scripts there?): left out of text\n", prog, missing, db | "cat 1>&2"}' \
    "$tmp/number2text" "$tmp/split" > "$tmp/text"

  sets="train dev eval"
  [ -z "$heldout_spks" ] || sets="$sets heldout"
  rm -rf "$data/heldout"  # from an earlier run with other --heldout_spks
  # shellcheck disable=SC2086
  utils/make_data_dirs.sh --text "$tmp/text" "$tmp/split" "$data" $sets
fi
