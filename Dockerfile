# Hotfix Bot, the production image: `hotfix-bot serve` (gunicorn, the front and its worker
# process) as a non-root user, migrating its database on start, with a health check.
#
#   docker build -t hotfix-bot .
#   docker run -p 3000:3000 --env-file .env -v "$PWD/hotfix.yml:/config/hotfix.yml:ro" hotfix-bot
#
# Docker could not build images on the machine this was written on (no daemon), so this file
# is kept deliberately plain; docs/deploy.md says how it is meant to run.
FROM python:3.11-slim

# git: the bot cuts branches, tags and merges with the real git.
RUN apt-get update \
    && apt-get install --yes --no-install-recommends git \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY pyproject.toml README.md app.py manifest.yml hotfix.example.yml ./
COPY bot ./bot
COPY workflows ./workflows
COPY storage ./storage
COPY sandbox ./sandbox
RUN pip install --no-cache-dir . && rm -rf /src

RUN useradd --create-home --uid 10001 hotfix
USER hotfix
WORKDIR /home/hotfix

ENV PORT=3000 \
    HOTFIX_CONFIG=/config/hotfix.yml \
    PYTHONUNBUFFERED=1
EXPOSE 3000

HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '3000'), timeout=4)"]

# `serve` applies the database migrations before it listens (see docs/deploy.md for N
# replicas: run `hotfix-bot migrate` once first).
CMD ["hotfix-bot", "serve"]
