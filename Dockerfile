# One image for every Replika component; the compose file picks the command.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
COPY shared ./shared
COPY services ./services
COPY operations ./operations
COPY infra ./infra
COPY tenants ./tenants
RUN pip install --no-cache-dir -c constraints.txt . \
 && useradd --system --uid 10001 replika
USER replika
EXPOSE 8000
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--config", "python:operations.gunicorn_conf", \
     "operations.apps:whistleblowing()"]
