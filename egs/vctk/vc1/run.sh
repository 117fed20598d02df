#!/usr/bin/env bash
# VCTK 0.80 (109 English speakers, 48 kHz), end to end: the stages are recipes/vc.sh's
# (./vc.sh --help), from the download (stage 0) to the report (stage 8).
# The data (local/data.sh): training speakers p225 p228 (female) and p226 p227 (male), their
# newspaper sentences made non-parallel (a text several of them read stays with one); the
# parallel eval set is the shared elicitation paragraph and rainbow passage sentences, by
# number and text; p229 (female) and p232 (male) are kept out of training, as one-shot targets.
# Change the speakers with --local_data_opts "--spks p225,p226,p227,p228 --n_dev 10" (src_spk
# and tgt_spk must be among them). The corpus goes to (or is read from) --db_root: stage 0
# needs the network (about 11 GB).
# The configs are the papers' sizes, for a GPU; on a CPU, for a smoke test:
#   ./run.sh --ngpu 0 --cyclegan_conf conf/cyclegan_quick.yaml --stargan_conf conf/stargan_quick.yaml \
#            --disentangle_conf conf/disentangle_quick.yaml
# No phone recogniser yet (--phones_conf none): this corpus has no config for one, so stage 4
# is skipped and stage 2 writes no phones.
set -euo pipefail
cd "$(dirname "$0")"

./vc.sh \
  --db_root downloads \
  --local_data_opts "--spks p225,p226,p227,p228 --n_dev 10" \
  --heldout_spks "p229 p232" \
  --src_spk p225 --tgt_spk p226 \
  --systems "cyclegan stargan disentangle" \
  --ngpu 1 \
  --cyclegan_conf conf/cyclegan_paper.yaml \
  --stargan_conf conf/stargan_paper.yaml \
  --disentangle_conf conf/disentangle_paper.yaml \
  --phones_conf none \
  "$@"
