#!/usr/bin/env bash
# Digits, end to end: CycleGAN and the shared-latent model translate handwritten digits
# (scikit-learn's 8x8 digits, upscaled) <-> digits typeset in matplotlib's fonts; StarGAN
# translates among six domains: five font families and the handwritten digits (the one
# domain whose digits a typeset-trained classifier misreads). The stages are recipes/img.sh's
# (./img.sh --help), from the data (stage 0) to the report (stage 4); every option of img.sh
# can be given here, e.g. --stage 1 --systems stargan. The configs are sized for a 2-core
# CPU (conf/*_quick.yaml, a few minutes each). Font families differ in details, so the metric
# classifiers train longer here (--classifier_steps 1000; about 10 s each on one core).
set -euo pipefail
cd "$(dirname "$0")"

./img.sh \
  --builder digits \
  --stargan_builder fonts \
  --stargan_data_opts "--handwritten" \
  --domains "handwritten typeset" \
  --systems "cyclegan shared_latent stargan" \
  --cyclegan_conf conf/cyclegan_quick.yaml \
  --shared_latent_conf conf/shared_latent_quick.yaml \
  --stargan_conf conf/stargan_quick.yaml \
  --classifier_steps 1000 \
  "$@"
