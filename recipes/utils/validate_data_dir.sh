#!/usr/bin/env bash
# Check a Kaldi data dir with `vc data validate`: each problem on one line (missing
# utterance, unsorted, duplicate, malformed line, audio file not found, ...), then a count;
# exits with its status (0: the dir is fine).
#
#   validate_data_dir.sh [--no-text] [--no-feats] [--no-check-files] DATA_DIR
#
# text and feats.scp are optional here (features live in dump/, not in the data dir), so
# Kaldi's --no-text and --no-feats change nothing and are accepted for compatibility;
# text is checked against utt2spk when it exists. --no-check-files skips checking that
# the audio files in wav.scp exist.
usage="Usage: validate_data_dir.sh [--no-text] [--no-feats] [--no-check-files] DATA_DIR"

args=()
while [ $# -gt 0 ]; do
  case $1 in
    --no-text | --no-feats) shift ;;
    --no-check-files) args+=("$1"); shift ;;
    --help | -h) echo "$usage"; exit 0 ;;
    -*) printf 'validate_data_dir.sh: unknown option %s\n%s\n' "$1" "$usage" >&2; exit 1 ;;
    *) break ;;
  esac
done
if [ $# -ne 1 ]; then
  echo "$usage" >&2
  exit 1
fi
if ! command -v vc >/dev/null; then
  echo "validate_data_dir.sh: 'vc' not found on PATH (run 'make install' in the repository root, or source the recipe's path.sh)" >&2
  exit 1
fi
exec vc data validate "${args[@]}" "$1"
