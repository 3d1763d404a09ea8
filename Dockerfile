FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY alignweb ./alignweb
COPY coding ./coding
COPY transcripts ./transcripts
COPY audit ./audit
RUN pip install --no-cache-dir .
COPY . .
RUN DEBUG=0 SECRET_KEY=build-only-collectstatic python manage.py collectstatic --noinput
RUN useradd --create-home alignweb
USER alignweb
EXPOSE 8000
CMD ["gunicorn", "alignweb.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]
