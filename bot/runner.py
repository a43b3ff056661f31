"""The long-running loop behind `paperbot run` and `paperbot poll`: poll, deliver, repeat."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Mapping

from bot.delivery import Platform
from bot.service import DeliveryReport, PaperService, PollReport

log = logging.getLogger(__name__)


async def cycle(
    service: PaperService, platforms: Mapping[str, Platform]
) -> tuple[PollReport, DeliveryReport]:
    """One poll, delivery of everything due, then upgrades of summaries that fell back to
    extractive while the model failed."""
    report = await service.poll()
    delivered = await service.deliver_due(platforms)
    await service.upgrade_summaries()
    log.info(
        "delivered %d papers (%d cards, %d digests, %d failed, %d paused)",
        delivered.papers,
        delivered.cards,
        delivered.digests,
        len(delivered.failed),
        len(delivered.paused),
    )
    return report, delivered


def stop_on_signals() -> asyncio.Event:
    """An event set by SIGTERM or SIGINT (Docker stop, Ctrl-C)."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    return stopping


async def repeat(
    service: PaperService,
    platforms: Mapping[str, Platform],
    interval: float,
    stopping: asyncio.Event,
) -> None:
    """Run a cycle every `interval` seconds until `stopping` is set."""
    while not stopping.is_set():
        try:
            await cycle(service, platforms)
        except Exception:
            log.exception("poll cycle failed; trying again next interval")
        try:
            await asyncio.wait_for(stopping.wait(), timeout=interval)
        except TimeoutError:
            continue
    log.info("stopping")
