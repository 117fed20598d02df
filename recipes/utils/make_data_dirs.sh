#!/usr/bin/env bash
# Write Kaldi data dirs from one split table, then validate them: what every corpus'
# local/data.sh does last, once it has decided which recording goes where.
#   utils/make_data_dirs.sh [--text FILE] SPLIT DATA_ROOT SET...
# SPLIT: sorted lines "utt spk set path". Each DATA_ROOT/SET is replaced by wav.scp, utt2spk,
# spk2utt and, with --text ("utt transcript" lines), text for the utterances of that set.
# An empty set is an error: its data dir would be of no use to any stage.
set -euo pipefail

text=""
help_message="Usage: $0 [--text FILE] SPLIT DATA_ROOT SET..."
. "$(dirname "$0")/parse_options.sh"
[ $# -ge 3 ] || { echo "$help_message" >&2; exit 1; }
split=$1
data=$2
shift 2
utils=$(dirname "$0")

for set in "$@"; do
  dir=$data/$set
  awk -v set="$set" '$3 == set {found = 1} END {exit !found}' "$split" ||
    { echo "$0: $dir would be empty: no utterance of $split is in set '$set'" >&2; exit 1; }
  rm -rf "$dir"
  mkdir -p "$dir"
  awk -v set="$set" '$3 == set {print $1, $4}' "$split" > "$dir/wav.scp"
  awk -v set="$set" '$3 == set {print $1, $2}' "$split" > "$dir/utt2spk"
  if [ -n "$text" ]; then
    awk 'NR == FNR {keep[$1] = 1; next} $1 in keep' "$dir/utt2spk" "$text" > "$dir/text"
    [ -s "$dir/text" ] || rm "$dir/text"
  fi
  "$utils/utt2spk_to_spk2utt.pl" "$dir/utt2spk" > "$dir/spk2utt"
done
for set in "$@"; do "$utils/validate_data_dir.sh" "$data/$set"; done
