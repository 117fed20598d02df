#!/usr/bin/env bash
# Neural vocoders on the offline synthetic corpus, end to end: the stages are recipes/voc.sh's
# (./voc.sh --help). The corpus and the features are ../vc1's (local/ and conf/feats.yaml are
# links), so these vocoders also serve vc1's conversion models (its --vocoders auto finds them).
# Change the corpus with --local_data_opts "--n_speakers 14 --n_utts 20 --n_eval 5 --seed 1".
set -euo pipefail
cd "$(dirname "$0")"

./voc.sh \
  --local_data_opts "--n_speakers 14 --n_utts 20 --n_eval 5 --seed 1" \
  --vocoders "parallel_wavenet wavenet" \
  --parallel_wavenet_conf conf/parallel_wavenet_quick.yaml \
  --wavenet_conf conf/wavenet_quick.yaml \
  "$@"
