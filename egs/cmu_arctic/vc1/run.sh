#!/usr/bin/env bash
# CMU ARCTIC (16 kHz, 1132 prompts read by every speaker), end to end: the stages are
# recipes/vc.sh's (./vc.sh --help), from the download (stage 0) to the report (stage 8).
# The data (local/data.sh): training speakers bdl rms (male) and slt clb (female); the last 20
# prompts everyone read (arctic_b0520-b0539) are the parallel eval set, and the others are
# dealt out in turn so that no two speakers share a training sentence (non-parallel); awb and
# jmk are kept out of training, as one-shot targets.
# Change the speakers with --local_data_opts "--spks bdl,slt,clb,rms --n_eval 20 --n_dev 5".
# The corpus goes to (or is read from) --db_root: stage 0 needs the network (about 100 MB a speaker).
# The configs are the papers' sizes, for a GPU; on a CPU, for a smoke test:
#   ./run.sh --ngpu 0 --cyclegan_conf conf/cyclegan_quick.yaml --stargan_conf conf/stargan_quick.yaml \
#            --disentangle_conf conf/disentangle_quick.yaml
# No phone recogniser yet (--phones_conf none): this corpus has no config for one, so stage 4
# is skipped and stage 2 writes no phones.
set -euo pipefail
cd "$(dirname "$0")"

./vc.sh \
  --db_root downloads \
  --local_data_opts "--spks bdl,slt,clb,rms --n_eval 20 --n_dev 5" \
  --heldout_spks "awb jmk" \
  --src_spk bdl --tgt_spk slt \
  --systems "cyclegan stargan disentangle" \
  --ngpu 1 \
  --cyclegan_conf conf/cyclegan_paper.yaml \
  --stargan_conf conf/stargan_paper.yaml \
  --disentangle_conf conf/disentangle_paper.yaml \
  --phones_conf none \
  "$@"
