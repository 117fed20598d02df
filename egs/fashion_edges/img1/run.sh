#!/usr/bin/env bash
# Fashion-MNIST items <-> edge sketches of other items (unpaired training; the test sets are
# paired, so translations are also scored by L1 and SSIM to the true sketch or item), end to
# end: the stages are recipes/img.sh's (./img.sh --help), from the data (stage 0) to the
# report (stage 4). Needs Debian's dataset-fashion-mnist (make install). Every option of
# img.sh can be given here, e.g. --stage 1 --systems cyclegan. The configs are sized for a
# 2-core CPU (conf/*_quick.yaml, a few minutes each).
set -euo pipefail
cd "$(dirname "$0")"

./img.sh \
  --builder fashion_edges \
  --domains "fashion edges" \
  --systems "cyclegan shared_latent" \
  --cyclegan_conf conf/cyclegan_quick.yaml \
  --shared_latent_conf conf/shared_latent_quick.yaml \
  "$@"
