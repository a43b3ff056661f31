FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PAPERBOT_DB=/data/paperbot.db

RUN useradd --create-home --uid 10001 paperbot \
    && mkdir -p /data && chown paperbot:paperbot /data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY storage ./storage
RUN pip install .

USER paperbot
VOLUME ["/data"]
# Unhealthy when the database is unreadable or no poll succeeded for 3 poll
# intervals (`paperbot health`). The first poll may take a while: 15 min grace.
HEALTHCHECK --interval=5m --timeout=30s --start-period=15m --retries=3 \
    CMD ["paperbot", "health"]
# SIGTERM (docker stop) stops gracefully: the message in flight is finished and
# recorded, the database closed. Give it time: docker stop -t 30.
STOPSIGNAL SIGTERM
ENTRYPOINT ["paperbot"]
# `poll` runs the scheduler without a chat platform; with TELEGRAM_BOT_TOKEN or
# DISCORD_BOT_TOKEN set, run `paperbot run` (same scheduler plus the chat adapters).
CMD ["poll"]
