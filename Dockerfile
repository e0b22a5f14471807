# oshbot: one image for `oshbot serve` workers and the operations commands.
#   docker build -t oshbot .
#   docker run --env-file .env -p 8080:8080 oshbot            (see compose.yaml and README "Deploying")

# -- build: the locked dependencies into a virtual environment --------------------------------
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/oshbot
COPY requirements.lock ./
# Exact versions and hashes, as `make setup` installs them.
RUN /opt/oshbot/bin/pip install --require-hashes -r requirements.lock
COPY pyproject.toml README.md LICENSE ./
COPY bot ./bot
COPY handlers ./handlers
COPY models ./models
COPY reports ./reports
COPY scheduler ./scheduler
COPY content ./content
RUN /opt/oshbot/bin/pip install --no-deps --no-build-isolation .

# -- run: the environment, the libraries WeasyPrint draws PDFs with, pg_dump for backups -------
FROM python:3.11-slim-bookworm
# Unpinned on purpose: a rebuild picks up bookworm's security updates.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
        postgresql-client \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /srv/oshbot --create-home oshbot
COPY --from=build /opt/oshbot /opt/oshbot
# models/content.py reads content/ beside the installed packages.
COPY --from=build /src/content /opt/oshbot/lib/python3.11/site-packages/content
ENV PATH=/opt/oshbot/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    OSHBOT_DATA_DIR=/srv/oshbot/data \
    OSHBOT_WEBHOOK_LISTEN=0.0.0.0 \
    OSHBOT_WEBHOOK_PORT=8080
WORKDIR /srv/oshbot
USER 10001
RUN mkdir -m 0700 /srv/oshbot/data /srv/oshbot/backups
VOLUME ["/srv/oshbot/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]
CMD ["oshbot", "serve"]
