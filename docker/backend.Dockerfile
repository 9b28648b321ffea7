# The backend image (Python 3.11): the Flask API under gunicorn and, with another command, the RQ workers.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, so code changes do not reinstall them. Exact versions of everything come from
# the lock file, used as constraints (as scripts/setup.sh does). The extra index serves torch's
# CPU-only wheels (the lock pins torch==2.13.0+cpu), which keeps the multi-GB CUDA build out.
COPY requirements/backend.txt requirements/backend.lock.txt requirements/
RUN pip install --extra-index-url https://download.pytorch.org/whl/cpu -r requirements/backend.txt \
    -c requirements/backend.lock.txt

COPY alembic.ini ./
COPY backend/ backend/
COPY observability/ observability/
# Phone masking and file modes, and the kit (texts, clock, sender ids), shared with the rasa image.
COPY pii/ pii/
COPY kit/ kit/
# The data team's review queue (/app/review) offers the domain's intents and entities, and its
# candidate writer checks against data/nlu and the evaluation sets with `make eval`'s own overlap
# check (scripts/evaluation). The public sets are not in the repository: without them (mount them
# and set EVAL_EXTERNAL_DIR) writing a candidate answers 503 and says so.
COPY domain/ domain/
COPY data/nlu/ data/nlu/
COPY eval/heldout/ eval/heldout/
COPY eval/independent/ eval/independent/
COPY eval/faq/ eval/faq/
COPY scripts/evaluation/ scripts/evaluation/
COPY scripts/eval_nlu.py scripts/

# The code stays root-owned (read-only to the app); runtime state goes to /app/var, owned by app.
# A named volume mounted at /app/var/kb starts with this directory's owner.
ENV VAR_DIR=/app/var
RUN useradd --create-home --uid 10001 app && mkdir -p /app/var/metrics && mkdir -p /app/var/kb && chown -R app /app/var
USER app

EXPOSE 8000
CMD ["gunicorn", "-c", "python:backend.gunicorn_conf", "-b", "0.0.0.0:8000", "-w", "2", "--threads", "4", "backend.wsgi:app"]
