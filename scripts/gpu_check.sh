#!/usr/bin/env bash
# The GPU check, end to end, on a bare CUDA machine without network (~8 minutes):
#
#     bash scripts/gpu_check.sh OUTPUT_DIR
#
# Needs, made beforehand on any machine with pip (see docs/gpu.md):
#   .whl/  spaCy, thinc and the dependencies a CUDA image with torch + cupy lacks
#          (scripts/check_wheels.py checks the set);
#   .gpu/  the small corpora it trains on (python scripts/gpu_data.py .gpu).
# Steps: 1. install the wheels and this checkout (--no-deps) unless spaCy is there;
# 2. stop with a clear message if there is no CUDA GPU; 3. pytest -m gpu tests/test_gpu.py;
# 4. spacy train --gpu-id 0 for configs/tagger.cfg, textcat.cfg (emotion) and lm.cfg,
#    500 steps each; 5. scripts/gpu_benchmark.py. Logs and JSON go to OUTPUT_DIR.
set -uo pipefail
OUT=${1:?usage: bash scripts/gpu_check.sh OUTPUT_DIR}
STEPS=${GPU_CHECK_STEPS:-500}
cd "$(dirname "$0")/.."
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
export PYTHONUNBUFFERED=1
log() { echo "[gpu_check $(date +%H:%M:%S)] $*" | tee -a "$OUT/gpu_check.log"; }
PY=${PYTHON:-python3}

# 1. set-up
if ! $PY -c "import spacy" 2>/dev/null; then
    log "installing spaCy, thinc and their dependencies from .whl/"
    ls .whl/*.whl >/dev/null 2>&1 || { log "no .whl/ folder: make it first (docs/gpu.md)"; exit 2; }
    $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
        || { log "installing the wheels failed"; exit 2; }
    export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
if ! $PY -c "import spacy_rnn" 2>/dev/null; then
    log "installing this checkout (--no-deps)"
    $PY -m pip install -q --no-index --no-deps --no-build-isolation --target /tmp/site-rnn . \
        || { log "installing spacy-rnn failed"; exit 2; }
    export PYTHONPATH=/tmp/site-rnn${PYTHONPATH:+:$PYTHONPATH}
fi
$PY -c "import spacy, thinc, torch, spacy_rnn; print('spaCy', spacy.__version__, 'thinc', thinc.__version__, 'torch', torch.__version__)" \
    | tee -a "$OUT/gpu_check.log" || { log "the installed packages do not import"; exit 2; }

# 2. the first CUDA call
if ! $PY - <<'PY' 2>&1 | tee -a "$OUT/gpu_check.log"
import sys, torch
if not torch.cuda.is_available():
    sys.exit("no CUDA GPU: torch.cuda.is_available() is False (torch %s, CUDA build %s); stopping before the GPU steps" % (torch.__version__, torch.version.cuda))
import cupy
print("GPU:", torch.cuda.get_device_name(0), "| torch CUDA", torch.version.cuda, "| cupy", cupy.__version__)
PY
then
    log "stopped: no usable CUDA GPU"
    exit 3
fi
[ "${PIPESTATUS[0]}" = 0 ] || { log "stopped: no usable CUDA GPU"; exit 3; }
[ -f .gpu/tagger-train.spacy ] || { log "no .gpu/ corpora: python scripts/gpu_data.py .gpu"; exit 2; }

status=0
# 3. the GPU tests
log "pytest -m gpu tests/test_gpu.py"
$PY -m pytest -m gpu tests/test_gpu.py -p no:cacheprovider -q --junitxml "$OUT/gpu_tests.xml" 2>&1 | tee "$OUT/gpu_tests.log"
[ "${PIPESTATUS[0]}" = 0 ] || { log "GPU tests failed"; status=1; }

# 4. spacy train on the GPU
for name in tagger textcat lm; do
    log "spacy train configs/$name.cfg --gpu-id 0 ($STEPS steps)"
    $PY scripts/timed.py "$OUT/time_train_$name.json" -- $PY -m spacy train "configs/$name.cfg" --gpu-id 0 \
        --output "/tmp/gpu_check/$name" --paths.train ".gpu/$name-train.spacy" --paths.dev ".gpu/$name-dev.spacy" \
        --paths.log "$OUT/train_$name.jsonl" --system.gpu_allocator pytorch \
        --training.max_steps "$STEPS" --training.max_epochs 0 --training.eval_frequency "$((STEPS / 2))" \
        > "$OUT/train_$name.log" 2>&1 || { log "training $name failed: see train_$name.log"; status=1; }
    tail -n 4 "$OUT/train_$name.log" | tee -a "$OUT/gpu_check.log"
done

# 5. speed
log "scripts/gpu_benchmark.py"
$PY scripts/gpu_benchmark.py "$OUT/gpu_benchmark.json" --models /tmp/gpu_check --data .gpu 2>&1 | tee "$OUT/gpu_benchmark.log"
[ "${PIPESTATUS[0]}" = 0 ] || { log "the benchmark failed"; status=1; }
log "done (status $status)"
exit $status
