#!/usr/bin/env bash
# Data preparation for the CSTR VCTK Corpus 0.80 (109 English speakers, 48 kHz, 16 bit):
#   stage 0: download it into --db_root (local/download.sh), unless it is already there
#   stage 1: Kaldi data dirs data/train, data/dev, data/eval and, with --heldout_spks, data/heldout
# Layout read: DB_ROOT/VCTK-Corpus/wav48/p225/p225_001.wav and DB_ROOT/VCTK-Corpus/txt/p225/p225_001.txt
# (one line of text). --db_root may also point at VCTK-Corpus itself. Utterance ids are the file
# names, <spk>_<NNN>, so the sentence of an id is what follows the speaker.
# Utterances without a transcript are skipped (p315's were lost, so p315 cannot be used).
#
# The split. Every speaker first reads the same elicitation paragraph ("Please call Stella...")
# and the rainbow passage, then a different selection of newspaper sentences.
#   eval:    the sentence numbers that every chosen speaker (--spks and --heldout_spks) recorded
#            with the same text (after lower-casing and dropping punctuation): parallel, so
#            p225_003 and p226_003 are the same sentence. The numbering drifts for some
#            speakers, hence the text check.
#   train/dev: the rest of the --spks speakers' utterances, minus any whose text is an eval
#            sentence, made non-parallel: a text that several speakers recorded is kept for one
#            of them only (in turn). dev is the last --n_dev of each speaker's share.
#   heldout: the --heldout_spks speakers' other utterances (one-shot references; never trained on).
set -euo pipefail
export LC_ALL=C

stage=0
stop_stage=1
db_root=downloads              # holds VCTK-Corpus/ (or is it)
data=data                      # where the data dirs go
spks="p225 p226 p227 p228"     # training speakers (2 female, 2 male); commas or spaces
heldout_spks=""                # speakers kept out of training, for one-shot conversion
n_dev=10                       # dev utterances per training speaker
nj=1                           # unused: accepted because recipes/vc.sh passes it
help_message="Usage: $0 [--stage 0] [--stop_stage 1] [--db_root downloads] [--spks p225,p226,p227,p228]
                [--heldout_spks \"p229 p232\"] [--n_dev 10]"

. utils/parse_options.sh
. ./path.sh

die() { echo "$0: $*" >&2; exit 1; }
spks=${spks//,/ }
heldout_spks=${heldout_spks//,/ }

corpus=$db_root/VCTK-Corpus
[ -d "$corpus/wav48" ] || [ ! -d "$db_root/wav48" ] || corpus=$db_root

if [ "$stage" -le 0 ] && [ "$stop_stage" -ge 0 ]; then
  if [ -d "$corpus/wav48" ]; then
    echo "$0 stage 0: $corpus/wav48 is there; nothing to download"
  else
    echo "$0 stage 0: download VCTK into $db_root"
    local/download.sh "$db_root"
  fi
fi

if [ "$stage" -le 1 ] && [ "$stop_stage" -ge 1 ]; then
  echo "$0 stage 1: data/train, data/dev, data/eval${heldout_spks:+, data/heldout} for $spks${heldout_spks:+ (held out: $heldout_spks)}"
  [ -d "$corpus/wav48" ] || die "$corpus/wav48 not found: run stage 0 or pass --db_root"
  [ -d "$corpus/txt" ] || die "$corpus/txt not found: the transcripts are needed to find the parallel sentences"
  corpus=$(cd "$corpus" && pwd)
  [[ $corpus != *[[:space:]]* ]] || die "'$corpus' contains whitespace, which wav.scp cannot hold: move the corpus"
  [ "$(echo $spks | wc -w)" -ge 2 ] || die "--spks: at least two training speakers are needed, got '$spks'"
  dup=$(printf '%s\n' $spks $heldout_spks | sort | uniq -d | head -n 1)
  [ -z "$dup" ] || die "speaker $dup is given twice (--spks and --heldout_spks must be disjoint)"
  for spk in $spks $heldout_spks; do
    [ -d "$corpus/wav48/$spk" ] || die "$corpus/wav48/$spk not found: not a VCTK speaker (--spks/--heldout_spks)"
  done
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT

  # utt path, and utt text (a transcript's lines joined, spaces squeezed).
  for spk in $spks $heldout_spks; do find "$corpus/wav48/$spk" -maxdepth 1 -name "${spk}_*.wav"; done |
    awk '{utt = $0; sub(/.*\//, "", utt); sub(/\.wav$/, "", utt); print utt, $0}' | sort > "$tmp/wav"
  for spk in $spks $heldout_spks; do
    [ ! -d "$corpus/txt/$spk" ] || find "$corpus/txt/$spk" -maxdepth 1 -name "${spk}_*.txt" -print0
  done | xargs -0 -r awk '
    {sub(/\r$/, ""); text[FILENAME] = text[FILENAME] " " $0}
    END {
      for (f in text) {
        utt = f; sub(/.*\//, "", utt); sub(/\.txt$/, "", utt)
        t = text[f]; gsub(/[ \t]+/, " ", t); sub(/^ /, "", t); sub(/ $/, "", t)
        if (t != "") print utt, t
      }
    }' | sort > "$tmp/text"

  # Skip utterances without a transcript, and say so.
  awk 'NR == FNR {has[$1] = 1; next}
       {spk = $1; sub(/_.*/, "", spk); n[spk]++; if ($1 in has) kept[spk]++}
       END {for (s in n) if (kept[s] < n[s]) printf "%s %d %d\n", s, n[s] - kept[s], n[s]}' \
    "$tmp/text" "$tmp/wav" | sort | while read -r spk missing total; do
      echo "$0: $spk: $missing of $total utterances have no transcript in $corpus/txt/$spk: skipped" >&2
      [ "$missing" -lt "$total" ] || die "$spk has no transcripts (VCTK 0.80 has none for p315): choose another speaker"
    done

  # utt spk num key, where key is the text lower-cased without punctuation (as vc evaluate's ASR
  # scoring compares text), words joined by "_" so that it is one field.
  awk 'NR == FNR {path[$1] = $2; next} $1 in path {
         utt = $1; $1 = ""; key = tolower($0); gsub(/[^a-z0-9'"'"']+/, "_", key)
         gsub(/^_+|_+$/, "", key); if (key == "") key = "_"
         spk = utt; sub(/_.*/, "", spk); num = substr(utt, length(spk) + 2)
         print utt, spk, num, key
       }' "$tmp/wav" "$tmp/text" | sort > "$tmp/utts"

  # Assign each utterance to eval, train, dev or heldout (or nothing): see the header.
  awk -v spks="$spks" -v held="$heldout_spks" -v n_dev="$n_dev" -v prog="$0" '
    BEGIN {
      n_all = split(spks " " held, all, " ")
      split(spks, t, " "); for (i in t) role[t[i]] = "train"
      split(held, h, " "); for (i in h) role[h[i]] = "heldout"
    }
    FNR == 1 {pass++}
    pass == 1 {
      speakers[$3]++
      if (!(($3, $4) in seen)) {seen[$3, $4] = 1; texts[$3]++}
      next
    }
    pass == 2 {
      if (speakers[$3] == n_all && texts[$3] == 1) {eval_num[$3] = 1; eval_key[$4] = 1}
      next
    }
    {
      if ($3 in eval_num) {print $1, "eval"; next}
      if ($4 in eval_key) {dropped_eval++; next}
      if (role[$2] == "heldout") {print $1, "heldout"; next}
      n++; utt[n] = $1; spk[n] = $2; key[n] = $4
      if (!(($4, $2) in has)) {
        has[$4, $2] = 1
        if (!($4 in owners)) order[++n_keys] = $4
        owners[$4] = owners[$4] " " $2
      }
    }
    END {
      for (k in eval_num) n_eval++
      if (n_eval == 0) {
        printf "%s: no sentence number has the same text for all of %s: no parallel eval set\n", prog, spks " " held | "cat 1>&2"
        exit 1
      }
      # A text several speakers recorded stays with one of them, the next one each time.
      for (i = 1; i <= n_keys; i++) {
        m = split(owners[order[i]], o, " ")
        if (m > 1) {shared++; owner[order[i]] = o[shared % m + 1]} else owner[order[i]] = o[1]
      }
      for (i = 1; i <= n; i++) if (owner[key[i]] == spk[i]) {keep[i] = 1; count[spk[i]]++} else dropped_shared++
      for (i in t) if (count[t[i]] <= n_dev) {
        printf "%s: %s has %d non-parallel utterances, too few for --n_dev %d\n", prog, t[i], count[t[i]], n_dev | "cat 1>&2"
        exit 1
      }
      for (i = 1; i <= n; i++) if (keep[i]) print utt[i], (seen_spk[spk[i]]++ < count[spk[i]] - n_dev) ? "train" : "dev"
      printf "%s: eval: %d sentences shared by every speaker; train/dev: %d utterances dropped because their text is an eval sentence, %d because another speaker has the same text\n", \
        prog, n_eval, dropped_eval, dropped_shared | "cat 1>&2"
    }' "$tmp/utts" "$tmp/utts" "$tmp/utts" > "$tmp/sets" 2> "$tmp/log" || { cat "$tmp/log" >&2; exit 1; }
  cat "$tmp/log"

  # utt spk set path
  awk 'NR == FNR {path[$1] = $2; next} {spk = $1; sub(/_.*/, "", spk); print $1, spk, $2, path[$1]}' \
    "$tmp/wav" "$tmp/sets" | sort > "$tmp/split"

  sets="train dev eval"
  [ -z "$heldout_spks" ] || sets="$sets heldout"
  rm -rf "$data/heldout"  # from an earlier run with other --heldout_spks
  # shellcheck disable=SC2086
  utils/make_data_dirs.sh --text "$tmp/text" "$tmp/split" "$data" $sets
fi
