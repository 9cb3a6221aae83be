# Production image: gunicorn for web; the same image runs the worker and beat.
# Front-end libraries (Chart.js, htmx) come from the npm registry at build time.
FROM node:20-slim AS assets
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DJANGO_SETTINGS_MODULE=helpdesk.settings.base
WORKDIR /app
# libmagic1: attachment types are decided by content (docs/uploads.md).
# gettext: msgfmt compiles the language catalogues (docs/languages.md).
RUN apt-get update && apt-get install -y --no-install-recommends libmagic1 gettext && rm -rf /var/lib/apt/lists/*
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
COPY --from=assets /app/node_modules ./node_modules
RUN DJANGO_SECRET_KEY=build-only python manage.py collectstatic --noinput -v0 \
 && DJANGO_SECRET_KEY=build-only python manage.py compilemessages --ignore node_modules -v0
RUN useradd --system --uid 1000 helpdesk && mkdir -p /app/media && chown -R helpdesk /app/media
USER helpdesk
EXPOSE 8000
CMD ["gunicorn", "helpdesk.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
