# One image for every service of the stack (Airflow's four, the sandbox), built from the same lock.
FROM python:3.11-slim-bookworm

ENV PYTHONUNBUFFERED=1 \
    UV_PROJECT_ENVIRONMENT=/opt/baton/.venv \
    UV_PYTHON_DOWNLOADS=never \
    PATH=/opt/baton/.venv/bin:$PATH \
    BATON_STATE_DIR=/opt/baton/.baton

RUN pip install --no-cache-dir uv==0.13.9 \
    # A named user (Airflow's getuser() needs a passwd entry) owning the code and the state folder.
    && useradd --uid 50000 --gid 0 --create-home --home-dir /home/baton baton \
    && mkdir -p /opt/baton/.baton && chown -R 50000:0 /opt/baton
WORKDIR /opt/baton
COPY pyproject.toml uv.lock README.md ./
COPY src ./src
COPY sandbox ./sandbox
# --all-packages: the image also serves the sandbox (baton-sandbox, a workspace member). --group deploy:
# the postgres and celery providers (the compose file's celery profile); no test tool (the dev group).
RUN uv sync --frozen --no-dev --group deploy --all-packages --python python3.11
COPY --chown=50000:0 . .
RUN chown 50000:0 /opt/baton /opt/baton/.baton
USER baton
