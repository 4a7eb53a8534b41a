#!/bin/bash
# The WordNet measurements behind the README's WordNet section.
#   bash bench/wordnet_measure.sh            # every step; the model steps take the shared lock in pieces
# KQA_HOME must hold packs/wordnet (kqa build --pack wordnet). The model backends (dense, bm25 and closed_book:
# about a second a question each on two cores) answer a seeded stratified sample of the test split
# (bench/wordnet_sample.py: 20 "is a X a kind of Y?" per hop count, 100 multiple choice, 10 of each other type);
# each piece holds the lock for at most 11.5 minutes and `kqa eval` resumes where the last one stopped.
set -e
cd "$(dirname "$0")/.."
H=${KQA_HOME:-$HOME/.cache/kqa}
export PYTHONPATH=$PWD KQA_HOME=$H HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
PY=${PY:-.venv/bin/python}
SAMPLE=$H/wn-sample.jsonl
$PY -m bench.wordnet_sample --pack $H/packs/wordnet --out $SAMPLE
# the graph on the whole test split (about a minute) and on the sample
$PY -m kqa.apps.cli eval --pack wordnet --backends graph --questions test --out $H/runs/wn-test-graph
$PY -m kqa.apps.cli eval --pack wordnet --backends graph --questions $SAMPLE --out $H/runs/wn-sample-graph
# dense needs the FAISS index of the 114,038 glosses, built once into $H/cache: 530 s of embedding on the two
# cores with the lock held (MiniLM in bfloat16, longest first in batches of 16). Asking one question builds it; a
# build stopped by the time limit keeps its embedded chunks and the next piece resumes (FaissRetriever.build_or_load).
# The embedder's speed on a sample of these passages, in both precisions (time it with nothing else running:
# sharing the two cores made an earlier sample 2-5 times slower):
#   flock /tmp/kqa-heavy.lock $PY -m bench.embedding $H/packs/wordnet --tokens 256 --precision auto,fp32 --sample 2000
for piece in 1 2 3 4 5 6; do
  flock /tmp/kqa-heavy.lock timeout 690 $PY -m kqa.apps.cli ask --pack wordnet --backends dense \
    "What kind of thing is a ship?" > /dev/null && break
done
# the model backends in one run: they share one copy of the model
until [ -f $H/runs/wn-sample-models/results.json ]; do
  flock /tmp/kqa-heavy.lock timeout 690 $PY -m kqa.apps.cli eval --pack wordnet --backends dense,bm25,closed_book \
    --questions $SAMPLE --out $H/runs/wn-sample-models || true
done
$PY -m bench.wordnet_results --pack $H/packs/wordnet $H/runs/wn-test-graph
$PY -m bench.wordnet_results --pack $H/packs/wordnet $H/runs/wn-sample-{graph,models} \
  --plot docs/wordnet_accuracy_by_hops.png
