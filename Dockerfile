# restable — multi-stage image: build with the project's own scripts, run with only the
# runtime libraries, as a non-root user. The docs page's Swagger UI files and the admin UI are
# fetched and built in the build stage (npm, pinned by web/package-lock.json and
# web/admin/package-lock.json) and copied to where the binary looks.
ARG BASE=debian:bookworm-slim
FROM ${BASE} AS build
WORKDIR /src
COPY scripts/install-deps scripts/install-deps
RUN RESTABLE_DEPS=build scripts/install-deps
COPY scripts/npm-install scripts/docs-assets scripts/admin-assets scripts/
COPY web/package.json web/package-lock.json web/.npmrc web/
COPY web/admin web/admin
# Behind a TLS-intercepting proxy npm needs that proxy's CA: pass a CA bundle's path inside
# the build as NPM_CAFILE (scripts/test-container mounts the host's npm cafile and does so).
ARG NPM_CAFILE=
RUN if [ -n "$NPM_CAFILE" ]; then export npm_config_cafile="$NPM_CAFILE"; fi; \
    scripts/docs-assets /out/docs && scripts/admin-assets /out/admin
COPY . .
RUN meson setup /build -Dbuildtype=release -Dtests=false && meson compile -C /build

FROM ${BASE}
RUN apt-get update -qq \
    && apt-get install -y -qq --no-install-recommends \
       libmicrohttpd12 libpq5 libjansson4 libjwt0 libssl3 libcurl4 ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin restable \
    && mkdir -p /etc/restable/movies-migrations && chown restable /etc/restable/movies-migrations
COPY --from=build /build/restable /usr/local/bin/restable
COPY --from=build /out/docs /usr/local/share/restable/docs
COPY --from=build /out/admin /usr/local/share/restable/admin
COPY examples/movies.json /etc/restable/restable.json
USER restable
WORKDIR /etc/restable
ENV RESTABLE_CONFIG=/etc/restable/restable.json
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
CMD ["restable", "serve"]
