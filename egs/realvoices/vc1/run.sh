#!/usr/bin/env bash
# Real people, offline: voice prompts and game dialogue recorded by voice actors and shipped in
# Debian packages (Asterisk's prompts CC-BY-SA/CC-BY 3.0, Fish Fillets NG's GPL-2: each package's
# usr/share/doc/<pkg>/copyright under --db_root).
# The stages are recipes/vc.sh's (./vc.sh --help), from the fetch (stage 0) to the report (stage 8).
# The speakers (vc corpus realvoices --help):
#   allison (f)  Asterisk's US English and Mexican Spanish prompts (asterisk-core-sounds-{en,es}-g722)
#   june (f)     Asterisk's Canadian French prompts (asterisk-core-sounds-fr-g722)
#   carlo (m)    Asterisk's Italian prompts (asterisk-core-sounds-it-g722)
#   ivrvoice (f) Asterisk's Russian prompts (asterisk-core-sounds-ru-g722)
#   cs_big (m), cs_small (f), nl_big (m), nl_small (f): Fish Fillets NG's two fish, Czech and Dutch
#                dubbing, with the lines' texts (fillets-ng-data-{cs,nl}, fillets-ng-data)
# Stage 0 (local/data.sh) runs 'apt-get download' (no install, no root) and
# 'dpkg-deb -x' into --db_root, decodes to 16 kHz wavs and drops the prompts with under 1 s of
# speech (single digits and letters, the silence files). Stage 1 splits each speaker's recordings:
# 10 eval ones (2-8 s; allison's in English, for the English ASR), 10 dev, at most 250 for
# training; june is held out (a one-shot target: her recordings go to data/heldout, her eval ones
# to data/eval). Change it with --local_data_opts "--n_eval 10 --n_dev 10 --max_train 250".
# Not parallel: no two speakers say the same prompt in the same language, so the evaluation is
# non-parallel (--eval_parallel false): no MCD or F0; speaker similarity to each target's other
# recordings, and for allison's English speech the ASR's WER against its reading of the copy
# synthesis (--asr_spks allison).
# Time on a 2-core CPU: stage 0 took 58 s with the download (190 MB of .debs; 5,354 files decoded,
# 4,018 kept: 4.25 h), a rerun 1 s. Stages 0-8 with the packages fetched: 16 min 34 s (CycleGAN-VC
# 4.3 min, disentangle 4.6 min, scoring and the report 8 min); the table is in docs/recipes.md.
# The speaker moves but the words are lost on these quick CPU configs: real results need the
# *_paper.yaml configs on a GPU (--ngpu 1).
set -euo pipefail
cd "$(dirname "$0")"

./vc.sh \
  --db_root downloads \
  --heldout_spks june \
  --src_spk allison --tgt_spk carlo \
  --extra_tgt_spks "cs_small nl_big" \
  --phones_conf none \
  --systems "cyclegan disentangle" \
  --vocoders gl \
  --eval_parallel false \
  --asr_spks allison \
  --cyclegan_conf conf/cyclegan_quick.yaml \
  --disentangle_conf conf/disentangle_quick.yaml \
  "$@"
