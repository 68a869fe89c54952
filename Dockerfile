# telephony in a container, for CI runners that prefer an image to a Python install.
#
#   docker build -t telephony:0.2.0 .
#   docker run --rm -v "$PWD:/work" telephony:0.2.0 validate
#
# Stage 1 builds the wheel from this checkout (the same artefact `python -m build` makes);
# stage 2 installs only that wheel, with the sandbox extra, so the image holds no source tree,
# no build tools and no test dependencies.
ARG PYTHON_VERSION=3.12

FROM python:${PYTHON_VERSION}-slim AS build
WORKDIR /src
RUN python -m pip install --no-cache-dir --disable-pip-version-check build
COPY pyproject.toml README.md LICENSE MANIFEST.in CHANGELOG.md ./
COPY provisioner ./provisioner
RUN python -m build --wheel --outdir /dist

FROM python:${PYTHON_VERSION}-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
COPY --from=build /dist/ /tmp/dist/
# The wheel's file name carries the version; the shell expands it so this line never changes.
RUN set -eu; wheel="$(ls /tmp/dist/telephony-*.whl)"; \
    pip install --no-cache-dir "${wheel}[sandbox]"; \
    rm -rf /tmp/dist
# Never root: a manifest from a mounted checkout is read, and the sandbox writes .telephony/ beside it.
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin telephony
USER telephony
WORKDIR /work
ENTRYPOINT ["telephony"]
CMD ["--help"]
