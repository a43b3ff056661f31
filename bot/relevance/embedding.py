"""Dense text embeddings from WordLlama, loaded from the files inside its wheel.

WordLlama averages token embeddings (~16 MB of weights, MIT). Its own loader
looks for the bundled tokenizer in a folder that does not exist and would then
download it; the files are opened here directly, so nothing is ever downloaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib.resources import files

import numpy as np
from safetensors import safe_open
from tokenizers import Tokenizer
from wordllama.inference import WordLlamaInference

WEIGHTS = "weights/l2_supercat_256.safetensors"
TOKENIZER = "tokenizers/l2_supercat_tokenizer_config.json"


class Embedder:
    """Unit-length 256-dimension embeddings of texts (a zero row for a text without tokens)."""

    def __init__(self) -> None:
        package = files("wordllama")
        with safe_open(str(package / WEIGHTS), framework="np") as weights:
            table = weights.get_tensor("embedding.weight")
        self._model = WordLlamaInference(table, Tokenizer.from_file(str(package / TOKENIZER)))
        self.size = int(table.shape[1])

    def vectors(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.size), dtype=np.float32)
        # small batches: WordLlama gathers batch × longest text × 256 floats at once
        rows = self._model.embed(list(texts), batch_size=16)
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        return np.nan_to_num(rows / np.maximum(norms, 1e-12))
