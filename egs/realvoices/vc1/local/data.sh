#!/usr/bin/env bash
# Data preparation for the real voices of Debian's packages (vc corpus realvoices --help):
#   stage 0: fetch the packages (apt-get download + dpkg-deb -x, no install) and decode every
#            speaker into --db_root, unless DB_ROOT/recordings.tsv lists them all already
#   stage 1: Kaldi data dirs data/train, data/dev, data/eval and, with --heldout_spks, data/heldout
# Read: DB_ROOT/recordings.tsv (utt spk language path seconds, a header line, paths relative to
# DB_ROOT), DB_ROOT/text (the Fish Fillets lines only: the Asterisk prompts have no transcript)
# and DB_ROOT/spk2gender. Utterance ids are <spk>_<name>, e.g. allison_en_vm-goodbye, cs_big_bar-v-videt0.
#
# The split, per speaker and utterance-disjoint (no one says another's prompt in the same language):
#   eval:    --n_eval recordings 2-8 s long, spread evenly over the speaker's sorted ids; for a
#            speaker recorded in English (allison) English ones only, which the English ASR can
#            score; for a speaker with transcripts (the fish), transcribed ones only.
#   dev:     --n_dev of the speaker's other recordings, spread evenly.
#   train:   the rest, at most --max_train (spread evenly; 0: all of them).
#   heldout: a --heldout_spks speaker's recordings but its eval ones (one-shot references; its
#            eval recordings are the targets' real speech that speaker similarity compares with).
# The training speakers are --spks less --heldout_spks.
set -euo pipefail
export LC_ALL=C

stage=0
stop_stage=1
db_root=downloads              # holds the unpacked packages, wav/ and recordings.tsv
data=data                      # where the data dirs go
spks="allison june carlo ivrvoice cs_big cs_small nl_big nl_small"  # commas or spaces
heldout_spks=""                # speakers kept out of training, for one-shot conversion
n_eval=10                      # eval recordings per speaker
n_dev=10                       # dev recordings per training speaker
max_train=250                  # training recordings per speaker at most (0: no limit)
nj=2                           # files decoded at once in stage 0
help_message="Usage: $0 [--stage 0] [--stop_stage 1] [--db_root downloads] [--spks allison,june,...]
                [--heldout_spks june] [--n_eval 10] [--n_dev 10] [--max_train 250] [--nj 2]"

. utils/parse_options.sh
. ./path.sh

die() { echo "$0: $*" >&2; exit 1; }
spks=${spks//,/ }
heldout_spks=${heldout_spks//,/ }
all_spks=$(printf '%s\n' $spks $heldout_spks | awk '!seen[$0]++' | tr '\n' ' ')
all_spks=${all_spks% }
manifest=$db_root/recordings.tsv

if [ "$stage" -le 0 ] && [ "$stop_stage" -ge 0 ]; then
  listed=$( [ ! -f "$manifest" ] || awk -F'\t' 'NR > 1 {print $2}' "$manifest" | sort -u)
  missing=$(for spk in $all_spks; do grep -qx "$spk" <<<"$listed" || echo "$spk"; done | tr '\n' ' ')
  if [ -z "$missing" ]; then
    echo "$0 stage 0: every speaker is in $manifest; nothing to do"
  else
    echo "$0 stage 0: fetch and decode ${missing% } into $db_root"
    vc corpus realvoices --db-root "$db_root" --fetch --speakers "$(echo $missing | tr ' ' ,)" --nj "$nj"
  fi
fi

if [ "$stage" -le 1 ] && [ "$stop_stage" -ge 1 ]; then
  echo "$0 stage 1: data/train, data/dev, data/eval${heldout_spks:+, data/heldout} for $all_spks${heldout_spks:+ (held out: $heldout_spks)}"
  [ -d "$db_root" ] || die "$db_root not found: run stage 0 or pass --db_root"
  db=$(cd "$db_root" && pwd)
  [[ $db != *[[:space:]]* ]] || die "'$db' contains whitespace, which wav.scp cannot hold: move the corpus"
  for file in recordings.tsv text spk2gender; do
    [ -f "$db/$file" ] || die "$db/$file not found: run stage 0 (vc corpus realvoices --db-root $db_root)"
  done
  for n in "$n_eval" "$n_dev" "$max_train"; do
    [[ $n =~ ^[0-9]+$ ]] || die "--n_eval, --n_dev and --max_train take a whole number, got '$n'"
  done
  train_spks=$(for spk in $spks; do [[ " $heldout_spks " == *" $spk "* ]] || echo "$spk"; done | tr '\n' ' ')
  train_spks=${train_spks% }
  [ "$(echo $train_spks | wc -w)" -ge 2 ] || die "at least two training speakers (--spks less --heldout_spks) are needed, got '$train_spks'"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  cut -d ' ' -f 1 "$db/text" > "$tmp/texted"

  # Assign each recording to eval, dev, train or heldout: see the header. Out: utt spk set path seconds
  awk -F '\t' -v spks="$all_spks" -v held="$heldout_spks" -v n_eval="$n_eval" -v n_dev="$n_dev" \
      -v max_train="$max_train" -v db="$db" -v manifest="$db/recordings.tsv" -v prog="$0" '
    function fail(msg) {printf "%s: %s\n", prog, msg | "cat 1>&2"; exit 1}
    # The j-th (0-based) of k picks spread evenly over positions 1..n (distinct while k <= n).
    function spread(n, k, j) {return int((j + 0.5) * n / k) + 1}
    FILENAME != manifest {texted[$1] = 1; next}
    FNR == 1 {next}
    {spk = $2; i = ++n[spk]; utt[spk, i] = $1; lang[spk, i] = $3; path[spk, i] = $4; sec[spk, i] = $5 + 0
     if ($3 ~ /^en/) english[spk] = 1
     if ($1 in texted) has_text[spk] = 1}
    END {
      split(held, h, " "); for (j in h) is_held[h[j]] = 1
      n_spk = split(spks, all, " ")
      for (s = 1; s <= n_spk; s++) {
        spk = all[s]
        if (!n[spk]) fail(spk ": no recordings in " manifest " (rerun stage 0 with this speaker)")
        c = 0; r = 0; t = 0
        for (i = 1; i <= n[spk]; i++)
          if (sec[spk, i] >= 2 && sec[spk, i] <= 8 && (!(spk in english) || lang[spk, i] ~ /^en/) &&
              (!(spk in has_text) || (utt[spk, i] in texted))) cand[++c] = i
        if (c < n_eval) fail(spk ": only " c " recordings can be eval ones (2-8 s" ((spk in english) ? ", English" : "") \
                             ((spk in has_text) ? ", transcribed" : "") "), fewer than --n_eval " n_eval)
        delete set
        for (j = 0; j < n_eval; j++) set[cand[spread(c, n_eval, j)]] = "eval"
        for (i = 1; i <= n[spk]; i++) if (!(i in set)) rest[++r] = i
        if (spk in is_held) {for (j = 1; j <= r; j++) set[rest[j]] = "heldout"}
        else {
          if (r <= n_dev) fail(spk ": " r " recordings besides the eval ones, too few for --n_dev " n_dev " and training")
          for (j = 0; j < n_dev; j++) set[rest[spread(r, n_dev, j)]] = "dev"
          for (j = 1; j <= r; j++) if (!(rest[j] in set)) train[++t] = rest[j]
          k = max_train > 0 && t > max_train ? max_train : t
          for (j = 0; j < k; j++) set[train[spread(t, k, j)]] = "train"
        }
        for (i in set) print utt[spk, i], spk, set[i], db "/" path[spk, i], sec[spk, i]
      }
    }' "$tmp/texted" "$db/recordings.tsv" | sort > "$tmp/split"

  sets="train dev eval"
  [ -z "$heldout_spks" ] || sets="$sets heldout"
  for set in $sets; do
    awk -v dir="$data/$set" -v set="$set" '$3 == set {n++; if (!($2 in spk)) {spk[$2] = 1; k++}; s += $5}
      END {printf "%s: %d recordings of %d speakers, %.2f h\n", dir, n, k, s / 3600}' "$tmp/split"
  done
  rm -rf "$data/heldout"  # from an earlier run with other --heldout_spks
  cut -d ' ' -f 1-4 "$tmp/split" > "$tmp/split4"
  # shellcheck disable=SC2086
  utils/make_data_dirs.sh --text "$db/text" "$tmp/split4" "$data" $sets
  for set in $sets; do
    awk 'NR == FNR {keep[$1] = 1; next} $1 in keep' "$data/$set/spk2utt" "$db/spk2gender" > "$data/$set/spk2gender"
  done
fi
