#!/usr/bin/env bash
# Download one corpus archive and unpack it into DB_ROOT, once: DB_ROOT/DIR/.done marks a
# finished part, which is then skipped.
#   utils/download_and_unpack.sh [--md5 SUM | --sha256 SUM] [--hint TEXT] URL DB_ROOT DIR
# The archive goes through ARCHIVE.part, so an interrupted download is never taken for a whole
# one; without a recorded checksum it says the archive is not verified. Offline, or on any
# failure, one line says why, then --hint (how to place the corpus by hand); exit 1.
set -euo pipefail

md5=""
sha256=""
hint=""
help_message="Usage: $0 [--md5 SUM | --sha256 SUM] [--hint TEXT] URL DB_ROOT DIR"
. "$(dirname "$0")/parse_options.sh"
[ $# -eq 3 ] || { echo "$help_message" >&2; exit 1; }
url=$1
db=$2
dir=$3
fail() {
  echo "$0: $*${hint:+. $hint}" >&2
  exit 1
}

if [ -f "$db/$dir/.done" ]; then
  echo "$0: $db/$dir is already there; skipping $url"
  exit 0
fi
mkdir -p "$db"
archive=$db/$(basename "$url")

if [ ! -f "$archive" ]; then
  echo "$0: downloading $url"
  rc=0
  if command -v curl >/dev/null; then
    curl -fsSL --connect-timeout 10 --speed-limit 1024 --speed-time 120 -o "$archive.part" "$url" </dev/null 2>/dev/null || rc=$?
    case $rc in
      0) ;;
      6|7|28) why="no network (curl exit $rc: cannot reach the host)" ;;
      22) why="the server refused it (curl exit 22: HTTP error; the file may have moved)" ;;
      *) why="curl exit $rc" ;;
    esac
  else
    wget -q --connect-timeout=10 --read-timeout=120 --tries=1 -O "$archive.part" "$url" </dev/null 2>/dev/null || rc=$?
    case $rc in
      0) ;;
      4) why="no network (wget exit 4: cannot reach the host)" ;;
      8) why="the server refused it (wget exit 8: HTTP error; the file may have moved)" ;;
      *) why="wget exit $rc" ;;
    esac
  fi
  if [ "$rc" -ne 0 ]; then
    rm -f "$archive.part"
    fail "cannot download $url: $why"
  fi
  mv "$archive.part" "$archive"
fi

if [ -n "$sha256" ]; then
  echo "$sha256  $archive" | sha256sum -c --status ||
    { hint=""; fail "$archive: sha256 checksum mismatch (expected $sha256): delete it and run again"; }
elif [ -n "$md5" ]; then
  echo "$md5  $archive" | md5sum -c --status ||
    { hint=""; fail "$archive: md5 checksum mismatch (expected $md5): delete it and run again"; }
else
  echo "$0: $(basename "$archive"): no checksum recorded, not verified"
fi

echo "$0: unpacking $archive"
case $archive in
  *.zip) unzip -q -o "$archive" -d "$db" ;;
  *.tar.gz|*.tgz) tar -xzf "$archive" -C "$db" ;;
  *.tar.bz2) tar -xjf "$archive" -C "$db" ;;
  *) fail "$archive: unknown archive type (zip, tar.gz, tgz or tar.bz2)" ;;
esac || { hint=""; fail "$archive: cannot unpack it (a broken download? delete it and run again)"; }
[ -d "$db/$dir" ] || fail "$archive did not hold $dir/"
touch "$db/$dir/.done"
rm -f "$archive"
