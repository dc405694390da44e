#!/usr/bin/env bash
# The multilingual leaderboard (issue 12): the Qur'an suite (14 languages, 18 tasks) beside the Bible.
# Run from the repository root after `pip install .`; results go to results-quran/.
# Stages, with their time on 2 CPU cores (measured where said, else estimated):
#   1. bm25 and nmt[lexical] on every language: 75 s measured (load ~8). The committed
#      reports/quran/ holds stage 1 only; stages 2-4 have not been run yet.
#   2. dense systems (me5, untrained-student): 18 tasks x ~2,600 texts each, ~2 h estimated.
#   3. OPTICAL and distill-mse: preset default on the four African pairs, quick elsewhere;
#      one student per language pair, reused by both directions: ~4 h estimated.
#   4. nmt with marian-local (full) on the four African pairs: ~40 CPU-min per pair to train.
set -euo pipefail
export HF_HUB_OFFLINE=1
S="--store results-quran"
AFRICAN="quran-en-swh/verse,quran-en-hau/verse,quran-en-som/verse,quran-en-amh/verse,quran-swh-en/verse,quran-hau-en/verse,quran-som-en/verse,quran-amh-en/verse"
OTHERS="quran-en-uig/verse,quran-en-tat/verse,quran-en-uzb/verse,quran-en-aze/verse,quran-en-zsm/verse,quran-en-tgk/verse,quran-en-snd/verse,quran-en-zho/verse,quran-en-jpn/verse,quran-en-tur/verse"
stage=${1:-all}

clirbench run -m bm25,nmt --set 'nmt.translators=[lexical]' -t suite:quran $S
if [ "$stage" != 1 ]; then
  clirbench run -m me5,untrained-student -t suite:quran $S
  clirbench run -m optical,distill-mse -t "$AFRICAN" $S \
    --set optical.preset=default --set distill-mse.preset=default
  clirbench run -m optical,distill-mse -t "$OTHERS" $S
  clirbench run -m nmt -t "$AFRICAN" $S --set nmt.preset=full
fi
out=reports/quran
clirbench report --store results-quran --out "$out" --baseline 'nmt[lexical]' --resamples 2000
