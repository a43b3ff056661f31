"""Papers (one row per arXiv id, its newest version) and their summaries."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from storage.rows import Row, Rows

# a summary the model wrote (its grounding outcome); any other is extractive
BY_MODEL = "grounding IN ('passed', 'repaired', 'patched')"


class PaperRows(Rows):
    def upsert_papers(self, rows: Iterable[Row], at: str) -> dict[str, str]:
        """Store papers (first seen `at`); returns id → `new`, `updated` (newer version)
        or `known`.

        A newer version replaces the row but keeps the first-version date; an
        older or equal version changes nothing.
        """
        outcome: dict[str, str] = {}
        with self.db.atomic():
            for row in rows:
                old = self._row("SELECT version, published FROM papers WHERE id = ?", [row["id"]])
                if old is None:
                    self.db["papers"].insert({**row, "first_seen": at})
                    outcome[row["id"]] = "new"
                elif row["version"] > old["version"]:
                    published = min(old["published"], row["published"])
                    self.db["papers"].update(row["id"], {**row, "published": published})
                    outcome[row["id"]] = "updated"
                else:
                    outcome.setdefault(row["id"], "known")
        return outcome

    def paper(self, paper_id: str) -> Row | None:
        return self._row("SELECT * FROM papers WHERE id = ?", [paper_id])

    def papers(self, paper_ids: Sequence[str]) -> list[Row]:
        marks = ",".join("?" * len(paper_ids))
        rows = self._rows(f"SELECT * FROM papers WHERE id IN ({marks})", list(paper_ids))
        by_id = {r["id"]: r for r in rows}
        return [by_id[i] for i in paper_ids if i in by_id]

    def first_seen(self, paper_ids: Iterable[str]) -> dict[str, str]:
        """When each stored paper among `paper_ids` was first stored."""
        ids = list(paper_ids)
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self._rows(f"SELECT id, first_seen FROM papers WHERE id IN ({marks})", ids)
        return {r["id"]: r["first_seen"] for r in rows}

    def record_hidden_text(self, paper_id: str, version: int, found_at: str) -> None:
        """Note that this paper version's PDF hides text from its readers (once)."""
        self.db["hidden_text"].insert(
            {"paper_id": paper_id, "version": version, "found_at": found_at}, ignore=True
        )


class SummaryRows(Rows):
    def summary(self, paper_id: str, version: int, language: str, model: str) -> Row | None:
        return self._row(
            "SELECT * FROM summaries WHERE paper_id = ? AND version = ? AND language = ? "
            "AND model = ?",
            [paper_id, version, language, model],
        )

    def save_summary(
        self,
        paper_id: str,
        version: int,
        language: str,
        model: str,
        source: str,
        data: dict[str, Any],
        at: str,
        *,
        run: Row | None = None,
        calls: Sequence[Row] = (),
    ) -> None:
        """Store (replace) the summary of one key, with how it was made (`run`: prompt
        version, grounding, checks, error, retry time, attempts) and the model requests
        made for it, in one transaction. The key's cache-hit count is kept."""
        key = {"paper_id": paper_id, "version": version, "language": language, "model": model}
        with self.db.atomic():
            self.db["summaries"].upsert(
                {
                    **key,
                    "source": source,
                    "data": json.dumps(data, ensure_ascii=False),
                    "created_at": at,
                    **(run or {}),
                },
                pk=("paper_id", "version", "language", "model"),
            )
            for call in calls:
                self.db["model_calls"].insert({**key, **call, "created_at": at})

    def count_summary_hit(self, paper_id: str, version: int, language: str, model: str) -> None:
        self.db.execute(
            "UPDATE summaries SET hits = hits + 1 WHERE paper_id = ? AND version = ? "
            "AND language = ? AND model = ?",
            [paper_id, version, language, model],
        )

    def summaries_of(self, paper_ids: Sequence[str], model: str) -> list[Row]:
        """The stored summaries of these papers by `model` (any version and language)."""
        marks = ",".join("?" * len(paper_ids))
        return self._rows(
            f"SELECT * FROM summaries WHERE model = ? AND paper_id IN ({marks})",
            [model, *paper_ids],
        )

    def summary_stats(self) -> dict[str, int]:
        """Model requests and tokens, summary cache hits, and summaries by outcome."""
        calls = self._row(
            "SELECT COUNT(*) AS model_calls, COALESCE(SUM(outcome != 'ok'), 0) AS model_errors, "
            "COALESCE(SUM(tokens_in), 0) AS tokens_in, "
            "COALESCE(SUM(tokens_out), 0) AS tokens_out FROM model_calls"
        )
        summaries = self._row(
            "SELECT COALESCE(SUM(hits), 0) AS summary_cache_hits, "
            "COALESCE(SUM(grounding = 'repaired'), 0) AS summaries_repaired, "
            "COALESCE(SUM(grounding = 'patched'), 0) AS summaries_patched, "
            f"COALESCE(SUM({BY_MODEL}), 0) AS papers_summarized_by_model, "
            "COALESCE(SUM(grounding = 'fallback'), 0) AS summaries_fallback, "
            "COALESCE(SUM(grounding = 'budget'), 0) AS summaries_extractive_for_budget, "
            "COALESCE(SUM(retry_at IS NOT NULL), 0) AS summaries_to_upgrade FROM summaries"
        )
        assert calls is not None and summaries is not None
        return {**calls, **summaries}
