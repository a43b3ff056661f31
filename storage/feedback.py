"""What each chat told paperbot about its taste: its members' 👍 / 👎 and its mutes."""

from __future__ import annotations

from collections.abc import Sequence

from storage.rows import Row, Rows, grouped


class FeedbackRows(Rows):
    def vote(self, chat: int, user: str, paper_id: str, value: int, at: str) -> int | None:
        """Record one member's 👍 (1) or 👎 (-1) of a stored paper, replacing their earlier
        vote; returns the earlier value (None when there was none)."""
        with self.db.atomic():
            old = self._row(
                "SELECT value FROM votes WHERE chat = ? AND user = ? AND paper_id = ?",
                [chat, user, paper_id],
            )
            self.db["votes"].upsert(
                {"chat": chat, "user": user, "paper_id": paper_id, "value": value, "at": at},
                pk=("chat", "user", "paper_id"),
            )
        return None if old is None else old["value"]

    def voted_papers(self, chat: int) -> list[Row]:
        """The papers the chat's members voted on: the paper's row with `likes` and
        `dislikes` (how many members pressed each), oldest vote first."""
        return self._rows(
            "SELECT p.*, SUM(v.value > 0) AS likes, SUM(v.value < 0) AS dislikes "
            "FROM votes v JOIN papers p ON p.id = v.paper_id WHERE v.chat = ? "
            "GROUP BY p.id ORDER BY MIN(v.at), p.id",
            [chat],
        )

    def tally(self, chat: int, paper_id: str) -> tuple[int, int]:
        """How many of the chat's members gave the paper 👍 and how many 👎."""
        row = self._row(
            "SELECT COALESCE(SUM(value > 0), 0) AS likes, COALESCE(SUM(value < 0), 0) AS dislikes "
            "FROM votes WHERE chat = ? AND paper_id = ?",
            [chat, paper_id],
        )
        assert row is not None  # an aggregate always has its row
        return row["likes"], row["dislikes"]

    def mute(self, chat: int, term: str, at: str) -> bool:
        """Mute `term` (canonical) in the chat; False when it already was."""
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO mutes (chat, term, created_at) VALUES (?, ?, ?)",
            [chat, term, at],
        )
        return bool(cursor.rowcount)

    def unmute(self, chat: int, term: str) -> bool:
        cursor = self.db.execute("DELETE FROM mutes WHERE chat = ? AND term = ?", [chat, term])
        return bool(cursor.rowcount)

    def mutes_of(self, chat: int) -> list[str]:
        return self.mutes_of_chats([chat]).get(chat, [])

    def mutes_of_chats(self, chats: Sequence[int]) -> dict[int, list[str]]:
        """Each chat's mutes, oldest first (chats without any left out)."""
        marks = ",".join("?" * len(chats))
        rows = self._rows(
            f"SELECT chat, term FROM mutes WHERE chat IN ({marks}) ORDER BY rowid", list(chats)
        )
        return grouped(rows, "term")
