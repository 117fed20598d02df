#!/usr/bin/env bash
# Download CMU ARCTIC speakers from festvox.org (about 100 MB each) and unpack them into
# DB_ROOT/cmu_us_<spk>_arctic/{wav,etc}. DB_ROOT/cmu_us_<spk>_arctic/.done marks a finished
# speaker, which is then skipped. CMU_ARCTIC_BASE_URL overrides where the archives are fetched
# from (a mirror).
#   local/download.sh [--spks "bdl slt clb rms"] DB_ROOT
set -euo pipefail

spks="bdl slt clb rms"
help_message="Usage: $0 [--spks \"bdl slt clb rms\"] DB_ROOT"
. utils/parse_options.sh
[ $# -eq 1 ] || { echo "$help_message" >&2; exit 1; }
db=$1
mkdir -p "$db"
db=$(cd "$db" && pwd)  # absolute, so that the messages say where
spks=${spks//,/ }

base_url=${CMU_ARCTIC_BASE_URL:-http://festvox.org/cmu_arctic/packed}
# sha256 of each archive, as torchaudio's CMUARCTIC dataset records them.
declare -A sha256=(
  [aew]=645cb33c0f0b2ce41384fdd8d3db2c3f5fc15c1e688baeb74d2e08cab18ab406
  [ahw]=024664adeb892809d646a3efd043625b46b5bfa3e6189b3500b2d0d59dfab06c
  [aup]=2c55bc3050caa996758869126ad10cf42e1441212111db034b3a45189c18b6fc
  [awb]=d74a950c9739a65f7bfc4dfa6187f2730fa03de5b8eb3f2da97a51b74df64d3c
  [axb]=dd65c3d2907d1ee52f86e44f578319159e60f4bf722a9142be01161d84e330ff
  [bdl]=26b91aaf48b2799b2956792b4632c2f926cd0542f402b5452d5adecb60942904
  [clb]=3f16dc3f3b97955ea22623efb33b444341013fc660677b2e170efdcc959fa7c6
  [eey]=8a0ee4e5acbd4b2f61a4fb947c1730ab3adcc9dc50b195981d99391d29928e8a
  [fem]=3fcff629412b57233589cdb058f730594a62c4f3a75c20de14afe06621ef45e2
  [gka]=dc82e7967cbd5eddbed33074b0699128dbd4482b41711916d58103707e38c67f
  [jmk]=3a37c0e1dfc91e734fdbc88b562d9e2ebca621772402cdc693bbc9b09b211d73
  [ksp]=8029cafce8296f9bed3022c44ef1e7953332b6bf6943c14b929f468122532717
  [ljm]=b23993765cbf2b9e7bbc3c85b6c56eaf292ac81ee4bb887b638a24d104f921a0
  [lnh]=4faf34d71aa7112813252fb20c5433e2fdd9a9de55a00701ffcbf05f24a5991a
  [rms]=c6dc11235629c58441c071a7ba8a2d067903dfefbaabc4056d87da35b72ecda4
  [rxr]=1fa4271c393e5998d200e56c102ff46fcfea169aaa2148ad9e9469616fbfdd9b
  [slp]=54345ed55e45c23d419e9a823eef427f1cc93c83a710735ec667d068c916abf1
  [slt]=7c173297916acf3cc7fcab2713be4c60b27312316765a90934651d367226b4ea
)

for spk in $spks; do
  name=cmu_us_${spk}_arctic
  utils/download_and_unpack.sh --sha256 "${sha256[$spk]:-}" \
    --hint "Download it yourself and unpack it under $db so that $db/$name/wav exists, or pass --db_root to where it is" \
    "$base_url/$name.tar.bz2" "$db" "$name"
done
echo "$0: CMU ARCTIC ($spks) is in $db"
