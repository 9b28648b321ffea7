# The backend image (Python 3.11): the Flask API under gunicorn and, with another command, the RQ workers.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, so code changes do not reinstall them. The extra index serves torch's CPU-only
# wheels (torch==2.13.0+cpu sorts above PyPI's 2.13.0), which keeps the multi-GB CUDA build out.
COPY requirements/backend.txt requirements/backend.txt
RUN pip install --extra-index-url https://download.pytorch.org/whl/cpu -r requirements/backend.txt

COPY alembic.ini ./
COPY backend/ backend/
# Phone masking and file modes shared with the rasa image.
COPY pii/ pii/

RUN useradd --create-home --uid 10001 app
USER app

EXPOSE 8000
CMD ["gunicorn", "-c", "python:backend.gunicorn_conf", "-b", "0.0.0.0:8000", "-w", "2", "--threads", "4", "backend.wsgi:app"]
