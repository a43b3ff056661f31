"""Chats with their settings, and the topics each follows."""

from __future__ import annotations

from collections.abc import Sequence

from storage.rows import Row, Rows, grouped


class ChatRows(Rows):
    def chat(self, platform: str, chat_id: str) -> Row | None:
        return self._row(
            "SELECT * FROM chats WHERE platform = ? AND chat_id = ?", [platform, chat_id]
        )

    def chat_by_id(self, chat: int) -> Row | None:
        return self._row("SELECT * FROM chats WHERE id = ?", [chat])

    def ensure_chat(self, platform: str, chat_id: str, defaults: Row) -> Row:
        """The chat's row, created with `defaults` (its `created_at` among them) on first
        contact."""
        with self.db.atomic():
            existing = self.chat(platform, chat_id)
            if existing is not None:
                return existing
            self.db["chats"].insert({**defaults, "platform": platform, "chat_id": chat_id})
            created = self.chat(platform, chat_id)
        assert created is not None
        return created

    def update_chat(self, chat: int, changes: Row) -> Row:
        self.db["chats"].update(chat, changes)
        updated = self.chat_by_id(chat)
        assert updated is not None
        return updated

    def chats(self, platform: str | None = None) -> list[Row]:
        if platform is None:
            return self._rows("SELECT * FROM chats ORDER BY id")
        return self._rows("SELECT * FROM chats WHERE platform = ? ORDER BY id", [platform])

    def delete_chat(self, chat: int) -> None:
        """Remove a chat with its subscriptions, deliveries, votes and mutes."""
        with self.db.atomic():
            for table in ("deliveries", "subscriptions", "votes", "mutes"):
                self.db.execute(f"DELETE FROM {table} WHERE chat = ?", [chat])
            self.db.execute("DELETE FROM chats WHERE id = ?", [chat])

    def subscribe(self, chat: int, topics: Sequence[str], at: str) -> list[str]:
        """Add topics to a chat; returns those that were new to it."""
        added = []
        with self.db.atomic():
            for topic in topics:
                cursor = self.db.execute(
                    "INSERT OR IGNORE INTO subscriptions (chat, topic, created_at) "
                    "VALUES (?, ?, ?)",
                    [chat, topic, at],
                )
                if cursor.rowcount:
                    added.append(topic)
        return added

    def unsubscribe(self, chat: int, topics: Sequence[str] | None) -> list[str]:
        """Remove the given topics (all when `None`); returns those removed."""
        with self.db.atomic():
            current = self.topics_of(chat)
            removed = current if topics is None else [t for t in topics if t in current]
            for topic in removed:
                self.db.execute(
                    "DELETE FROM subscriptions WHERE chat = ? AND topic = ?", [chat, topic]
                )
        return removed

    def topics_of(self, chat: int) -> list[str]:
        return self.topics_of_chats([chat]).get(chat, [])

    def topics_of_chats(self, chats: Sequence[int]) -> dict[int, list[str]]:
        """Each chat's topics in the order it followed them (chats without any left out)."""
        marks = ",".join("?" * len(chats))
        rows = self._rows(
            f"SELECT chat, topic FROM subscriptions WHERE chat IN ({marks}) ORDER BY id",
            list(chats),
        )
        return grouped(rows, "topic")

    def active_subscriptions(self) -> list[Row]:
        """(chat, topic, created_at) of every active chat's subscriptions."""
        return self._rows(
            "SELECT s.chat, s.topic, s.created_at FROM subscriptions s "
            "JOIN chats c ON c.id = s.chat WHERE c.active = 1 ORDER BY s.id"
        )
