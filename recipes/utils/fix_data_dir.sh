#!/usr/bin/env bash
# Make a Kaldi data dir consistent (Kaldi's fix_data_dir.sh):
#
#   fix_data_dir.sh DATA_DIR
#
# Sorts every file it knows by key (LC_ALL=C), keeping the first of repeated keys; keeps
# only the utterances found in all of utt2spk, wav.scp (or segments, whose recording must
# be in wav.scp), text and feats.scp when those exist; filters the other per-utterance,
# per-speaker and per-recording files to match; and writes spk2utt anew from utt2spk.
# The files it replaced are kept in DATA_DIR/.backup. Says how many utterances it dropped.
set -euo pipefail
export LC_ALL=C

usage="Usage: fix_data_dir.sh DATA_DIR"
utils=$(dirname "$0")
die() {
  echo "fix_data_dir.sh: $*" >&2
  exit 1
}
if [ $# -ne 1 ] || [[ $1 == -* ]]; then
  echo "$usage" >&2
  exit 1
fi
dir=${1%/}
[ -d "$dir" ] || die "$dir: not a directory"
for f in wav.scp utt2spk; do
  [ -f "$dir/$f" ] || die "$dir/$f: file not found (a data dir needs wav.scp and utt2spk)"
done

per_utt="utt2spk text segments feats.scp utt2num_frames utt2dur utt2lang utt2uniq"
per_spk="spk2gender cmvn.scp"
per_reco="wav.scp reco2dur reco2file_and_channel"
present=()
for f in $per_utt $per_spk $per_reco spk2utt; do
  if [ -f "$dir/$f" ]; then present+=("$f"); fi
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for f in "${present[@]}"; do
  sort -k1,1 -u "$dir/$f" > "$tmp/$f"
done

# The utterances every required file has; the union of their ids is what we started from.
keys() { awk '{print $1}' "$@"; }
names=(utt2spk wav.scp)
union=("$tmp/utt2spk" "$tmp/wav.scp")
lists=("$tmp/wav.scp")
if [ -f "$tmp/segments" ]; then
  names[1]="segments (with its recording in wav.scp)"
  union[1]=$tmp/segments
  "$utils/filter_scp.pl" -f 2 "$tmp/wav.scp" "$tmp/segments" > "$tmp/segments.ok"
  lists[0]=$tmp/segments.ok
fi
for f in text feats.scp; do
  if [ -f "$tmp/$f" ]; then
    names+=("$f")
    union+=("$tmp/$f")
    lists+=("$tmp/$f")
  fi
done
keys "$tmp/utt2spk" > "$tmp/keep"
for f in "${lists[@]}"; do
  "$utils/filter_scp.pl" "$f" "$tmp/keep" > "$tmp/keep.tmp"
  mv "$tmp/keep.tmp" "$tmp/keep"
done
before=$(keys "${union[@]}" | sort -u | wc -l)
kept=$(wc -l < "$tmp/keep")
required=$(printf '%s, ' "${names[@]}")
required=${required%, }
[ "$kept" -gt 0 ] || die "$dir: no utterance is in all of $required; nothing changed"

for f in $per_utt; do
  if [ -f "$tmp/$f" ]; then "$utils/filter_scp.pl" "$tmp/keep" "$tmp/$f" > "$tmp/$f.new"; fi
done
if [ -f "$tmp/segments" ]; then
  awk '{print $2}' "$tmp/segments.new" | sort -u > "$tmp/recordings"
else
  cp "$tmp/keep" "$tmp/recordings"
fi
for f in $per_reco; do
  if [ -f "$tmp/$f" ]; then "$utils/filter_scp.pl" "$tmp/recordings" "$tmp/$f" > "$tmp/$f.new"; fi
done
"$utils/utt2spk_to_spk2utt.pl" "$tmp/utt2spk.new" | sort -k1,1 > "$tmp/spk2utt.new"
for f in $per_spk; do
  if [ -f "$tmp/$f" ]; then "$utils/filter_scp.pl" "$tmp/spk2utt.new" "$tmp/$f" > "$tmp/$f.new"; fi
done

mkdir -p "$dir/.backup"
for f in "${present[@]}"; do cp "$dir/$f" "$dir/.backup/$f"; done
for f in "$tmp"/*.new; do
  name=$(basename "$f" .new)
  mv "$f" "$dir/$name"
done

if [ "$kept" -eq "$before" ]; then
  echo "fix_data_dir.sh: $dir: kept all $kept utterances"
else
  echo "fix_data_dir.sh: $dir: kept $kept of $before utterances; dropped $((before - kept)) not in all of $required (old files in $dir/.backup)"
fi
