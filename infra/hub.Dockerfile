# The hub's production images, built from the repository root:
#   docker build -f infra/hub.Dockerfile --target hub -t approval-hub .
#   docker build -f infra/hub.Dockerfile --target minio -t approval-hub-minio .
# One `hub` image serves every hub process: Airflow's components (they import the DAGs and run
# the Spark driver), the Spark master and workers (executors need the same Python and jars as the
# driver) and the API. MinIO's published images are gone, so its server is built from its Go
# module at the commit the Makefile pins.

FROM maven:3.9.9-eclipse-temurin-17 AS jars
WORKDIR /build
COPY infra/jars/pom.xml infra/jars/pom.xml
COPY infra/udf infra/udf
RUN mvn -q -B -f infra/jars/pom.xml dependency:copy-dependencies -DoutputDirectory=/jars \
    && mvn -q -B -f infra/udf/pom.xml package \
    && cp infra/udf/target/hub-udf.jar /jars/

FROM golang:1.26.8-bookworm AS minio-build
ARG MINIO_MODULE_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
RUN CGO_ENABLED=0 GOBIN=/out go install github.com/minio/minio@${MINIO_MODULE_VERSION}

FROM debian:bookworm-slim AS minio
COPY --from=minio-build /out/minio /usr/local/bin/minio
ENTRYPOINT ["minio"]

# The dashboard's ECharts, from npm at the version api/dashboard/package-lock.json pins: a checkout
# has no bundle (make setup copies it there, and git ignores it).
FROM node:20.20.2-bookworm-slim AS dashboard
WORKDIR /build
COPY api/dashboard/package.json api/dashboard/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error

FROM python:3.11.7-slim-bookworm AS hub
RUN apt-get update \
    && apt-get install -y --no-install-recommends openjdk-17-jre-headless procps \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/hub
COPY pyproject.toml constraints.txt README.md ./
COPY hub hub
COPY jobs jobs
COPY api api
COPY --from=dashboard /build/node_modules/echarts/dist/echarts.min.js api/dashboard/static/echarts.min.js
COPY quality quality
COPY dags dags
COPY contracts contracts
COPY infra/spark infra/spark
# Editable, so the code finds contracts/, dags/ and infra/ beside it as it does in a checkout.
RUN pip install --no-cache-dir -c constraints.txt -e '.[production]'
COPY --from=jars /jars /opt/hub/jars
ENV HUB_JARS_DIR=/opt/hub/jars \
    HUB_HOME=/var/lib/hub \
    SPARK_HOME=/usr/local/lib/python3.11/site-packages/pyspark \
    AIRFLOW__CORE__DAGS_FOLDER=/opt/hub/dags
ENV PATH="${SPARK_HOME}/bin:${PATH}"
