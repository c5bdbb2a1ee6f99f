FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1

# Fonts embedded in the PDF summaries: DejaVu (Latin, Greek, Cyrillic, Arabic, Hebrew),
# WenQuanYi Zen Hei (Chinese, Japanese, Korean) and IPAex Gothic (Japanese text).
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-dejavu-core fonts-wqy-zenhei \
        fonts-ipaexfont-gothic \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
RUN useradd --create-home --uid 10001 clinic \
    && mkdir -p /app/var /data/private \
    && chown -R clinic /app/var /data \
    && DEBUG=true python manage.py collectstatic --noinput

USER clinic
EXPOSE 8000
CMD ["gunicorn", "ehr.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
