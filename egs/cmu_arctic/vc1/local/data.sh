#!/usr/bin/env bash
# Data preparation for CMU ARCTIC (Kominek & Black 2003; 16 kHz, 1132 sentences read by each
# speaker: arctic_a0001-a0593 and arctic_b0001-b0539):
#   stage 0: download the chosen speakers into --db_root (local/download.sh), unless they are there
#   stage 1: Kaldi data dirs data/train, data/dev, data/eval and, with --heldout_spks, data/heldout
# Layout read: DB_ROOT/cmu_us_bdl_arctic/wav/arctic_a0001.wav and DB_ROOT/cmu_us_bdl_arctic/etc/txt.done.data,
# whose lines are ( arctic_a0001 "Author of the danger trail, Philip Steels, etc." ).
# Utterance ids are <spk>_<sentence>, e.g. bdl_arctic_a0001. Recordings without a line in
# txt.done.data are skipped.
#
# The split. ARCTIC is parallel: every speaker reads the same prompts. So
#   eval:      the last --n_eval sentences that every chosen speaker (--spks and --heldout_spks)
#              recorded (arctic_b0520-b0539 by default): parallel.
#   train/dev: the other sentences, sorted, dealt out in turn: with K speakers (training speakers
#              first, then held-out ones), speaker k takes sentences i with i % K == k. So no
#              two speakers share a training sentence: non-parallel, as in the papers that train
#              on ARCTIC without its parallelism. dev is the last --n_dev of each training
#              speaker's share.
#   heldout:   the --heldout_spks speakers' shares (one-shot references; never trained on).
set -euo pipefail
export LC_ALL=C

stage=0
stop_stage=1
db_root=downloads              # holds cmu_us_<spk>_arctic/
data=data                      # where the data dirs go
spks="bdl slt clb rms"         # training speakers (US English: 2 male, 2 female); commas or spaces
heldout_spks=""                # speakers kept out of training, for one-shot conversion
n_eval=20                      # parallel eval sentences
n_dev=5                        # dev utterances per training speaker
nj=1                           # unused: accepted because recipes/vc.sh passes it
help_message="Usage: $0 [--stage 0] [--stop_stage 1] [--db_root downloads] [--spks bdl,slt,clb,rms]
                [--heldout_spks \"awb jmk\"] [--n_eval 20] [--n_dev 5]"

. utils/parse_options.sh
. ./path.sh

die() { echo "$0: $*" >&2; exit 1; }
spks=${spks//,/ }
heldout_spks=${heldout_spks//,/ }

if [ "$stage" -le 0 ] && [ "$stop_stage" -ge 0 ]; then
  missing=""
  for spk in $spks $heldout_spks; do
    [ -d "$db_root/cmu_us_${spk}_arctic/wav" ] || missing="$missing $spk"
  done
  if [ -z "$missing" ]; then
    echo "$0 stage 0: every speaker is in $db_root; nothing to download"
  else
    echo "$0 stage 0: download$missing into $db_root"
    local/download.sh --spks "${missing# }" "$db_root"
  fi
fi

if [ "$stage" -le 1 ] && [ "$stop_stage" -ge 1 ]; then
  echo "$0 stage 1: data/train, data/dev, data/eval${heldout_spks:+, data/heldout} for $spks${heldout_spks:+ (held out: $heldout_spks)}"
  [ -d "$db_root" ] || die "$db_root not found: run stage 0 or pass --db_root"
  db=$(cd "$db_root" && pwd)
  [[ $db != *[[:space:]]* ]] || die "'$db' contains whitespace, which wav.scp cannot hold: move the corpus"
  [ "$(echo $spks | wc -w)" -ge 2 ] || die "--spks: at least two training speakers are needed, got '$spks'"
  dup=$(printf '%s\n' $spks $heldout_spks | sort | uniq -d | head -n 1)
  [ -z "$dup" ] || die "speaker $dup is given twice (--spks and --heldout_spks must be disjoint)"
  for spk in $spks $heldout_spks; do
    dir=$db/cmu_us_${spk}_arctic
    [ -d "$dir/wav" ] || die "$dir/wav not found: run stage 0 or pass --db_root"
    [ -f "$dir/etc/txt.done.data" ] || die "$dir/etc/txt.done.data not found: an incomplete copy of cmu_us_${spk}_arctic?"
  done
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT

  # spk sentence path: recordings that have a transcript. utt text: the transcripts.
  for spk in $spks $heldout_spks; do
    dir=$db/cmu_us_${spk}_arctic
    awk -v spk="$spk" '{
        sub(/\r$/, ""); line = $0
        if (!match(line, /^[ \t]*\([ \t]*[^ \t]+/)) next
        id = substr(line, RSTART, RLENGTH); sub(/^[ \t]*\([ \t]*/, "", id)
        text = substr(line, RSTART + RLENGTH); sub(/^[ \t]*"/, "", text); sub(/"[ \t]*\)[ \t]*$/, "", text)
        gsub(/[ \t]+/, " ", text)
        print spk "_" id, text
      }' "$dir/etc/txt.done.data" | sort > "$tmp/text.$spk"
    [ -s "$tmp/text.$spk" ] || die "$dir/etc/txt.done.data has no line like ( arctic_a0001 \"text\" )"
    find "$dir/wav" -maxdepth 1 -name '*.wav' | sort |
      awk -v spk="$spk" -v prog="$0" -v txt="$dir/etc/txt.done.data" 'NR == FNR {has[$1] = 1; next}
        {id = $0; sub(/.*\//, "", id); sub(/\.wav$/, "", id); n++
         if ((spk "_" id) in has) print spk, id, $0; else missing++}
        END {if (missing) printf "%s: %s: %d of %d recordings have no line in %s: skipped\n", prog, spk, missing, n, txt | "cat 1>&2"}' \
        "$tmp/text.$spk" - >> "$tmp/recordings"
  done
  cat "$tmp"/text.* | sort > "$tmp/text"

  # Assign each recording to eval, train, dev or heldout: see the header. Out: utt spk set path
  awk -v spks="$spks" -v held="$heldout_spks" -v n_eval="$n_eval" -v n_dev="$n_dev" -v prog="$0" '
    BEGIN {n_train = split(spks, t, " "); n_all = split(spks " " held, all, " ")}
    {path[$1, $2] = $3; if (!($2 in speakers)) sentences[++n_sent] = $2; speakers[$2]++}
    END {
      for (i = n_sent; i >= 1 && n_ev < n_eval; i--) if (speakers[sentences[i]] == n_all) {is_eval[sentences[i]] = 1; n_ev++}
      if (n_ev < n_eval) {printf "%s: only %d sentences are recorded by all of %s, fewer than --n_eval %d\n", prog, n_ev, spks " " held, n_eval | "cat 1>&2"; exit 1}
      k = 0
      for (i = 1; i <= n_sent; i++) {
        s = sentences[i]
        if (s in is_eval) {for (j = 1; j <= n_all; j++) print all[j] "_" s, all[j], "eval", path[all[j], s]; continue}
        spk = all[k % n_all + 1]; k++
        if ((spk, s) in path) {share[spk, ++n_share[spk]] = s}
      }
      for (j = 1; j <= n_all; j++) {
        spk = all[j]
        if (j <= n_train && n_share[spk] <= n_dev) {printf "%s: %s has %d non-parallel sentences, too few for --n_dev %d\n", prog, spk, n_share[spk], n_dev | "cat 1>&2"; exit 1}
        for (i = 1; i <= n_share[spk]; i++) {
          set = j > n_train ? "heldout" : (i <= n_share[spk] - n_dev ? "train" : "dev")
          print spk "_" share[spk, i], spk, set, path[spk, share[spk, i]]
        }
      }
    }' <(sort -k2,2 -k1,1 "$tmp/recordings") | sort > "$tmp/split"
  echo "$0: eval: the last $n_eval sentences everyone recorded; the other sentences dealt out among $(echo $spks $heldout_spks | wc -w) speakers: $(awk '$3 != "eval"' "$tmp/split" | wc -l) recordings"

  sets="train dev eval"
  [ -z "$heldout_spks" ] || sets="$sets heldout"
  rm -rf "$data/heldout"  # from an earlier run with other --heldout_spks
  # shellcheck disable=SC2086
  utils/make_data_dirs.sh --text "$tmp/text" "$tmp/split" "$data" $sets
fi
