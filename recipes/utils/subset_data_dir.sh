#!/usr/bin/env bash
# Copy part of a Kaldi data dir (Kaldi's subset_data_dir.sh):
#
#   subset_data_dir.sh [--utt-list FILE | --spk-list FILE | --first N | --last N | --shortest N] SRC_DIR DEST_DIR
#
#   --utt-list FILE  the utterances listed (first field of each line; ids not in SRC are ignored)
#   --spk-list FILE  every utterance of the speakers listed
#   --first N        the first N utterances of utt2spk; --last N the last N
#   --shortest N     the N shortest, by SRC/utt2num_frames or else SRC/utt2dur
# `vc data subset` writes wav.scp, utt2spk, spk2utt, text and segments (keeping only the
# recordings the kept segments need); the other per-utterance, per-speaker and
# per-recording files this script knows are filtered to match.
set -euo pipefail
export LC_ALL=C

usage="Usage: subset_data_dir.sh [--utt-list FILE | --spk-list FILE | --first N | --last N | --shortest N] SRC_DIR DEST_DIR"
utils=$(dirname "$0")
die() {
  echo "subset_data_dir.sh: $*" >&2
  exit 1
}

mode=
value=
while [ $# -gt 0 ]; do
  case $1 in
    --utt-list | --spk-list | --first | --last | --shortest)
      [ -z "$mode" ] || die "give only one of --utt-list, --spk-list, --first, --last, --shortest"
      [ $# -ge 2 ] || die "option $1 needs a value"
      mode=${1#--}
      value=$2
      shift 2
      ;;
    --help | -h) echo "$usage"; exit 0 ;;
    -*) die "unknown option $1"$'\n'"$usage" ;;
    *) break ;;
  esac
done
if [ $# -ne 2 ]; then
  echo "$usage" >&2
  exit 1
fi
[ -n "$mode" ] || die "choose the subset with --utt-list, --spk-list, --first, --last or --shortest"
src=${1%/}
dest=${2%/}
[ -f "$src/utt2spk" ] || die "$src/utt2spk: file not found"
if [ -e "$dest" ] && [ "$(cd "$src" && pwd -P)" = "$(cd "$dest" && pwd -P)" ]; then
  die "SRC_DIR and DEST_DIR are the same directory ($src)"
fi
command -v vc >/dev/null ||
  die "'vc' not found on PATH (run 'make install' in the repository root, or source the recipe's path.sh)"
case $mode in
  first | last | shortest)
    [[ $value =~ ^[1-9][0-9]*$ ]] || die "--$mode expects a positive number of utterances, got '$value'" ;;
  *) [ -r "$value" ] || die "cannot read --$mode file '$value'" ;;
esac

# The chosen utterances, one id a line, in a temporary file.
list=$(mktemp)
trap 'rm -f "$list"' EXIT
total=$(wc -l < "$src/utt2spk")
case $mode in
  utt-list) "$utils/filter_scp.pl" "$value" "$src/utt2spk" | awk '{print $1}' > "$list" ;;
  spk-list) "$utils/filter_scp.pl" -f 2 "$value" "$src/utt2spk" | awk '{print $1}' > "$list" ;;
  first | last | shortest)
    [ "$value" -le "$total" ] || die "--$mode $value: $src has only $total utterances"
    case $mode in
      first) head -n "$value" "$src/utt2spk" | awk '{print $1}' > "$list" ;;
      last) tail -n "$value" "$src/utt2spk" | awk '{print $1}' > "$list" ;;
      shortest)
        lengths=
        for f in utt2num_frames utt2dur; do [ -f "$src/$f" ] && lengths=$src/$f && break; done
        [ -n "$lengths" ] || die "--shortest needs $src/utt2num_frames or $src/utt2dur"
        # Ties go by utterance id, so the choice does not depend on the file's order; awk
        # rather than head reads all of sort's output (pipefail would see sort's SIGPIPE).
        "$utils/filter_scp.pl" "$src/utt2spk" "$lengths" | sort -k2,2g -k1,1 | awk -v n="$value" 'NR <= n {print $1}' > "$list"
        ;;
    esac
    ;;
esac
[ -s "$list" ] || die "no utterance of $src is in --$mode $value"

vc data subset "$src" "$dest" --utts "$list"

# Files vc does not know, kept consistent with what it wrote.
filter() {  # filter() KEYS_FILE NAME...: each SRC/NAME restricted to the ids KEYS_FILE starts its lines with
  local keys=$1 name
  shift
  for name in "$@"; do
    if [ -f "$src/$name" ]; then
      "$utils/filter_scp.pl" "$keys" "$src/$name" > "$dest/$name"
    else
      rm -f "$dest/$name"  # left from an earlier subset into the same dir
    fi
  done
}
filter "$dest/utt2spk" feats.scp utt2num_frames utt2dur utt2lang utt2uniq
filter "$dest/spk2utt" spk2gender cmvn.scp
filter "$dest/wav.scp" reco2dur reco2file_and_channel
