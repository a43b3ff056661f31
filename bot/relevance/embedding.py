"""Dense text embeddings from WordLlama's files, read from inside its wheel.

WordLlama (MIT) embeds a text as the average of its tokens' vectors (a
32,000 × 256 table, ~16 MB in float16). Its own loader looks for the bundled
tokenizer in a folder that does not exist and would then download one; here
both files are opened directly, nothing is ever downloaded, and the table
stays in float16 to keep the long-running bot small. The package is found, never
imported: importing `wordllama` configures the root logger (INFO to stderr) in any
process that does.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib.util import find_spec
from pathlib import Path

import numpy as np
from safetensors import safe_open
from tokenizers import Tokenizer

WEIGHTS = "weights/l2_supercat_256.safetensors"
TOKENIZER = "tokenizers/l2_supercat_tokenizer_config.json"


class Embedder:
    """Unit-length 256-dimension embeddings of texts (a zero row for a text without tokens)."""

    def __init__(self) -> None:
        package = _package_folder("wordllama")
        with safe_open(str(package / WEIGHTS), framework="np") as weights:
            self.table = weights.get_tensor("embedding.weight")
        self.tokenizer = Tokenizer.from_file(str(package / TOKENIZER))
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()
        self.size = int(self.table.shape[1])

    def vectors(self, texts: Sequence[str]) -> np.ndarray:
        batch = self.tokenizer.encode_batch(list(texts), add_special_tokens=False)
        encoded = [tokens.ids for tokens in batch]
        flat = np.concatenate([[], *encoded]).astype(np.int64)
        used, where = np.unique(flat, return_inverse=True)
        # token counts per text × the vectors of the tokens used: the sum of each text's tokens
        counts = np.zeros((len(texts), len(used)), dtype=np.float32)
        text_of = np.repeat(np.arange(len(texts)), [len(ids) for ids in encoded])
        np.add.at(counts, (text_of, where), 1)
        rows = counts @ self.table[used].astype(np.float32)
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        return rows / np.maximum(norms, 1e-12)


def _package_folder(name: str) -> Path:
    """Where an installed package's files are, without running its `__init__`."""
    spec = find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"{name} is not installed")
    return Path(next(iter(spec.submodule_search_locations)))
