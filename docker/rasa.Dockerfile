# The rasa image (Python 3.10, Rasa 3.6): the rasa server and the action server; the model is trained at build.
FROM python:3.10-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app \
    RASA_TELEMETRY_ENABLED=false \
    SQLALCHEMY_SILENCE_UBER_WARNING=1 \
    TF_CPP_MIN_LOG_LEVEL=2

WORKDIR /app

# Exact versions of everything come from the lock file, used as constraints.
COPY requirements/rasa.txt requirements/rasa.lock.txt requirements/
RUN pip install -r requirements/rasa.txt -c requirements/rasa.lock.txt

RUN useradd --create-home --uid 10001 app && chown app /app
USER app

COPY --chown=app bot/ bot/
COPY --chown=app actions/ actions/
COPY --chown=app observability/ observability/
COPY --chown=app rasa_sdk_plugins/ rasa_sdk_plugins/
# Phone masking and file modes, and the kit (texts, clock, sender ids), shared with the backend image.
COPY --chown=app pii/ pii/
COPY --chown=app kit/ kit/
COPY --chown=app data/ data/
COPY --chown=app domain/ domain/
COPY --chown=app config.yml endpoints.yml endpoints.production.yml credentials.yml ./

# The image carries its model: `rasa run --model models` serves what was trained here.
RUN rasa train --domain domain --config config.yml --data data --out models

EXPOSE 5005 5055
CMD ["rasa", "run", "--port", "5005", "--credentials", "credentials.yml", "--endpoints", "endpoints.production.yml", "--model", "models"]
