"""Real arXiv papers of ten announcement days (fixtures/arxiv_metadata, CC0) as `Paper`s.

Each paper's `published` is its announcement day (midnight UTC).
"""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

from bot.models import Paper

FIXTURE = Path(__file__).parent / "fixtures" / "arxiv_metadata" / "cs_cv_cl.jsonl.gz"


def load_papers(path: Path = FIXTURE) -> list[Paper]:
    papers = []
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            day = datetime.fromisoformat(record["announced"]).replace(tzinfo=UTC)
            papers.append(
                Paper(
                    id=record["id"],
                    version=1,
                    title=record["title"],
                    authors=tuple(record["authors"]),
                    abstract=record["abstract"],
                    categories=tuple(record["categories"]),
                    primary_category=record["categories"][0],
                    published=day,
                    updated=day,
                )
            )
    return papers
