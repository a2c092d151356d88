FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
# Pango, which WeasyPrint draws the decision record PDF with.
RUN apt-get update && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 \
    && rm -rf /var/lib/apt/lists/*
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
# Static files are collected into the image and served by whitenoise.
RUN DEBUG=0 SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput
RUN useradd --create-home riskreg && mkdir -p /app/media /app/keys && chown riskreg /app/media /app/keys && chmod 700 /app/keys
USER riskreg
EXPOSE 8000
CMD ["gunicorn", "riskreg.wsgi", "--config", "gunicorn.conf.py"]
