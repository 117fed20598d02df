#!/usr/bin/env bash
# VCC2018 (Voice Conversion Challenge 2018, 22.05 kHz), end to end: the stages are
# recipes/vc.sh's (./vc.sh --help), from the download (stage 0) to the report (stage 8).
# The data (local/data.sh): hub sources SF1 SF2 SM1 SM2 and targets TF1 TF2 TM1 TM2, trained
# non-parallel (sources keep the odd-numbered training sentences, targets the even-numbered);
# the parallel eval set is 30001-30035 (vcc2018_evaluation for sources, vcc2018_reference for
# targets); the spoke sources SF3 and SM3 are kept out of training, as one-shot targets.
# Change the speakers with --local_data_opts "--srcs SF1,SM1 --tgts TF1,TM1 --n_dev 5".
# The corpus goes to (or is read from) --db_root: stage 0 needs the network (about 220 MB).
# The configs are the papers' sizes, for a GPU; on a CPU, for a smoke test:
#   ./run.sh --ngpu 0 --cyclegan_conf conf/cyclegan_quick.yaml --stargan_conf conf/stargan_quick.yaml \
#            --disentangle_conf conf/disentangle_quick.yaml
# No phone recogniser yet (--phones_conf none): this corpus has no config for one, so stage 4
# is skipped and stage 2 writes no phones.
set -euo pipefail
cd "$(dirname "$0")"

./vc.sh \
  --db_root downloads \
  --local_data_opts "--srcs SF1,SF2,SM1,SM2 --tgts TF1,TF2,TM1,TM2 --n_dev 5" \
  --heldout_spks "SF3 SM3" \
  --src_spk SF1 --tgt_spk TF1 \
  --systems "cyclegan stargan disentangle" \
  --ngpu 1 \
  --cyclegan_conf conf/cyclegan_paper.yaml \
  --stargan_conf conf/stargan_paper.yaml \
  --disentangle_conf conf/disentangle_paper.yaml \
  --phones_conf none \
  "$@"
