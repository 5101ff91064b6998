# One image for every service of the stack (Airflow's four, the sandbox), built from the same lock.
FROM python:3.11-slim-bookworm

ENV PYTHONUNBUFFERED=1 \
    UV_PROJECT_ENVIRONMENT=/opt/baton/.venv \
    UV_PYTHON_DOWNLOADS=never \
    PATH=/opt/baton/.venv/bin:$PATH \
    BATON_REPO_ROOT=/opt/baton \
    BATON_STATE_DIR=/opt/baton/.baton

RUN pip install --no-cache-dir uv==0.13.9
WORKDIR /opt/baton
COPY pyproject.toml uv.lock README.md ./
COPY src ./src
COPY sandbox ./sandbox
# --all-packages: the image also serves the sandbox (baton-sandbox, a workspace member).
RUN uv sync --frozen --no-dev --all-packages --python python3.11
COPY . .
USER 50000
