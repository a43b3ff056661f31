"""paperbot's core: config, models, arXiv source, summaries, figures, relevance, services.

The relevance model's matrix products are many and small (one chat's papers at a time):
BLAS threads would only spin on the cores the event loop and SQLite need (on 2 cores the
outbox's scoring pass took 1.5x as long), so the core asks for one unless told otherwise.
It must be said before numpy is first imported, hence here.
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
