#!/usr/bin/env bash
# Download the CSTR VCTK Corpus 0.80 (Edinburgh DataShare, handle 10283/2651; about 11 GB) and
# unpack it into DB_ROOT, which then holds VCTK-Corpus/{wav48,txt}. DB_ROOT/VCTK-Corpus/.done
# marks a finished download, which is then skipped. VCTK_URL overrides the URL (a mirror).
#   local/download.sh DB_ROOT
set -euo pipefail

help_message="Usage: $0 DB_ROOT"
. utils/parse_options.sh
[ $# -eq 1 ] || { echo "$help_message" >&2; exit 1; }
db=$1
mkdir -p "$db"
db=$(cd "$db" && pwd)  # absolute, so that the messages say where

url=${VCTK_URL:-https://datashare.ed.ac.uk/bitstream/handle/10283/2651/VCTK-Corpus.zip}
# No published checksum of this archive was found (the md5 torchaudio records is 0.92's, a
# different archive): left empty rather than guessed, and the download says it is not verified.
md5=""
hint="Download it yourself and unpack it under $db so that $db/VCTK-Corpus/wav48 exists, or pass --db_root to where it is"

utils/download_and_unpack.sh --md5 "$md5" --hint "$hint" "$url" "$db" VCTK-Corpus
[ -d "$db/VCTK-Corpus/wav48" ] || { echo "$0: $db/VCTK-Corpus has no wav48/: not VCTK 0.80? $hint" >&2; exit 1; }
echo "$0: VCTK is in $db/VCTK-Corpus"
