"""The run report as a service: a day's report on demand, and the daily report sent to
every private chat where an operator (a `PAPERBOT_ADMIN_IDS` user) turned it on.

The daily report follows the schedule rules of bot/schedule.py (`report_due`): once a
day at the chat's digest time in its time zone, covering the previous UTC day. It is
recorded as sent (`report_sent_at`) once the platform confirmed it, so a restart never
sends it twice. A chat that is gone is paused; a report the platform refuses is not
tried again that day; any other failure is tried again at the next tick.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date

from bot.chats import Chats
from bot.clock import Clock
from bot.config import Settings
from bot.delivery import ChatUnavailable, DeliveryFailed, MessageRejected, Platform
from bot.models import Chat
from bot.report import RunReport, render, run_report
from bot.schedule import report_due
from storage.chats import ChatRows
from storage.database import Store
from storage.reports import ReportRows
from storage.rows import iso

log = logging.getLogger(__name__)


class RunReports:
    def __init__(self, store: Store, chats: Chats, settings: Settings, clock: Clock) -> None:
        self.store = store
        self.chats = chats
        self.settings = settings
        self.clock = clock

    async def report(self, day: date | None = None) -> RunReport:
        """The report of the UTC `day` (None: today so far)."""
        now = self.clock()
        return await run_report(self.store, self.settings.llm_budget, day or now.date(), now)

    async def send_due(self, platforms: Mapping[str, Platform]) -> int:
        """Send the daily report to every chat whose time has come; returns how many went."""
        now = self.clock()
        reports: dict[date, RunReport] = {}
        sent = 0
        for row in await self.store.call(ReportRows.report_chats):
            chat = Chat.from_row(row)
            platform = platforms.get(chat.platform)
            day = report_due(chat, now)
            if platform is None or day is None:
                continue
            if chat.report_admin not in self.settings.admin_ids:
                continue  # no longer an operator: nothing is sent
            if day not in reports:
                reports[day] = await self.report(day)
            sent += await self._send(chat, platform, render(reports[day], chat.language), day)
        return sent

    async def _send(self, chat: Chat, platform: Platform, text: str, day: date) -> bool:
        """Send one chat its report; whether it went."""
        where = f"{chat.platform}:{chat.chat_id}"
        try:
            await platform.send_text(chat, text)
        except ChatUnavailable as exc:
            await self.chats.set_active(chat, False, str(exc))
            log.warning("chat %s paused: %s", where, exc)
            return False
        except MessageRejected as exc:  # it would be refused again: not retried today
            log.error("%s refused the run report of %s: %s", where, day, exc)
            await self._sent(chat)
            return False
        except DeliveryFailed as exc:
            log.warning("the run report of %s to %s failed, tried again later: %s", day, where, exc)
            return False
        log.info("run report of %s sent to %s", day, where)
        await self._sent(chat)
        return True

    async def _sent(self, chat: Chat) -> None:
        changes = {"report_sent_at": iso(self.clock())}
        await self.store.call(ChatRows.update_chat, chat.id, changes)
