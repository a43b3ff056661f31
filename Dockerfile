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
ENTRYPOINT ["paperbot"]
CMD ["poll"]
