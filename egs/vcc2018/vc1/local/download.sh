#!/usr/bin/env bash
# Download the VCC2018 database (Edinburgh DataShare, handle 10283/3061, CC BY 4.0; about 220 MB)
# and unpack it into DB_ROOT: vcc2018_training/, vcc2018_evaluation/, vcc2018_reference/ and
# scripts/ (the evaluation transcripts). A .done file in each marks a finished part, which is
# then skipped. VCC2018_BASE_URL overrides where the archives are fetched from (a mirror).
#   local/download.sh DB_ROOT
set -euo pipefail

help_message="Usage: $0 DB_ROOT"
. utils/parse_options.sh
[ $# -eq 1 ] || { echo "$help_message" >&2; exit 1; }
db=$1
mkdir -p "$db"
db=$(cd "$db" && pwd)  # absolute, so that the messages say where

base_url=${VCC2018_BASE_URL:-https://datashare.ed.ac.uk/bitstream/handle/10283/3061}
# archive, the directory it unpacks to, and its md5. DataShare publishes none of these archives'
# checksums in a form found here: left empty rather than guessed, and the download says so.
parts="vcc2018_database_training.zip vcc2018_training -
vcc2018_database_evaluation.zip vcc2018_evaluation -
vcc2018_database_reference.zip vcc2018_reference -
vcc2018_database_evaluation_transcriptions.tar.gz scripts -"
hint="Download them yourself from https://datashare.ed.ac.uk/handle/10283/3061 and unpack them under $db so that $db/vcc2018_training, $db/vcc2018_evaluation and $db/vcc2018_reference exist, or pass --db_root to where they are"

while read -r archive dir md5; do
  [ "$md5" != - ] || md5=""
  utils/download_and_unpack.sh --md5 "$md5" --hint "$hint" "$base_url/$archive" "$db" "$dir"
done <<< "$parts"
echo "$0: VCC2018 is in $db"
