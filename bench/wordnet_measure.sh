#!/bin/bash
# The WordNet measurements behind the README (run once under the shared lock: flock /tmp/kqa-heavy.lock bash bench/wordnet_measure.sh).
# H is a KQA_HOME holding packs/wordnet (kqa build --pack wordnet) and wn-mc-test.jsonl (the pack's multiple-choice test questions).
set -x
[ -f "${KQA_HOME:-$HOME/.cache/kqa}/wn-mc-test.jsonl" ] || python3 -c "import json,sys; [print(l, end=\"\") for l in open(sys.argv[1]) if (lambda q: q[\"type\"] == \"multiple_choice\" and q[\"split\"] == \"test\")(json.loads(l))]" "${KQA_HOME:-$HOME/.cache/kqa}/packs/wordnet/questions.jsonl" > "${KQA_HOME:-$HOME/.cache/kqa}/wn-mc-test.jsonl"
cd "$(dirname "$0")/.."
H=${KQA_HOME:-$HOME/.cache/kqa}
export PYTHONPATH=$PWD KQA_HOME=$H HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
PY=${PY:-.venv/bin/python}
date
/usr/bin/time -f "graph load %e s %M KB" $PY -c "
import time; t=time.time()
from kqa.kb.graph import load_graph
kg=load_graph('$H/packs/wordnet'); print('first load', round(time.time()-t,1), flush=True)
t=time.time(); kg.nx_view(); print('nx view', round(time.time()-t,1), flush=True)
t=time.time(); load_graph('$H/packs/wordnet'); print('cached load', round(time.time()-t,1), flush=True)
"
date
$PY -m kqa.apps.cli eval --pack wordnet --questions $H/wn-mc-test.jsonl --backends graph --out $H/runs/mc-graph-all
date
$PY -m kqa.apps.cli eval --pack wordnet --questions $H/wn-mc-test.jsonl --backends graph,dense,closed_book --limit 150 --out $H/runs/mc-150
date
$PY -m kqa.apps.cli eval --pack wordnet --questions test --backends graph,dense,closed_book --limit 200 --seed 1 --out $H/runs/test-200
date
$PY -m bench.wordnet_results --pack $H/packs/wordnet $H/runs/test-200 --plot $H/runs/accuracy_by_hops.png
$PY -m bench.wordnet_results --pack $H/packs/wordnet $H/runs/mc-150
$PY -m bench.wordnet_results --pack $H/packs/wordnet $H/runs/mc-graph-all
date
