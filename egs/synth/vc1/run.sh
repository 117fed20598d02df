#!/usr/bin/env bash
# The offline synthetic corpus (festival, flite and espeak-ng voices), end to end: the stages
# are recipes/vc.sh's (./vc.sh --help), from synthesis (stage 0) to the report (stage 8).
# The corpus: 14 voices x 20 non-parallel sentences + 5 parallel ones; espeak_m1 and flite_rms
# are kept out of training, as one-shot targets. Change it with
#   --local_data_opts "--n_speakers 14 --n_utts 20 --n_eval 5 --seed 1"
# The pair: flite_awb -> fest_slt, two engines whose real recordings the ASR reads well; the
# multi-target systems (StarGAN-VC, disentangle) also convert to espeak_f1, a third engine.
# Every option of vc.sh can be given here, e.g. --stage 5 --systems cyclegan. The configs are
# sized for a 2-core CPU; conf/*_paper.yaml are the papers' sizes, for a GPU (--ngpu 1).
set -euo pipefail
cd "$(dirname "$0")"

./vc.sh \
  --local_data_opts "--n_speakers 14 --n_utts 20 --n_eval 5 --seed 1" \
  --heldout_spks "espeak_m1 flite_rms" \
  --src_spk flite_awb --tgt_spk fest_slt \
  --extra_tgt_spks "espeak_f1" \
  --systems "cyclegan stargan disentangle" \
  --cyclegan_conf conf/cyclegan_quick.yaml \
  --stargan_conf conf/stargan_quick.yaml \
  --disentangle_conf conf/disentangle_quick.yaml \
  --phones_conf conf/phones_quick.yaml \
  "$@"
