# One image for every Airflow service: the project and its locked dependencies.
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 AIRFLOW_HOME=/opt/airflow PYTHONPATH=/opt/edu
WORKDIR /opt/edu
COPY requirements.lock .
RUN pip install --no-cache-dir uv==0.13.9 \
 && uv pip install --system --no-cache --compile-bytecode -r requirements.lock
COPY . .
RUN useradd --create-home --uid 50000 airflow && mkdir -p /opt/airflow /data/landing \
 && chown -R airflow /opt/airflow /data
USER airflow
