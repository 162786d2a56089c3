# FieldFix's server image: docs/deploy.md. Build: docker build --build-arg VERSION=$(git describe --always) -t fieldfix .
#
# Stage 1 builds the static binary with `make static`, the target `make test` builds and checks
# (file, ldd) on every run, so this step's command and flags are the tested ones. Debian 12 like
# the CI machine: the same gcc and glibc link H3's C code in.
FROM golang:1.26.8-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN make static VERSION=${VERSION} && ./bin/fieldfix-static version

# Stage 2: nothing but the binary, CA certificates (FCM, OSRM over TLS) and a non-root user
# (distroless "nonroot": uid 65532). No shell: the health check is the binary's own.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /src/bin/fieldfix-static /usr/local/bin/fieldfix
USER 65532:65532
ENV FIELDFIX_ADDR=:8080
EXPOSE 8080
# serve migrates first (under an advisory lock) and loads the geo index before it listens: give
# a large database time before failures count.
HEALTHCHECK --interval=10s --timeout=6s --start-period=60s --retries=3 CMD ["/usr/local/bin/fieldfix", "healthcheck"]
# On SIGTERM (docker stop) event streams end at once and requests in flight get 8 s; the push
# worker then gives its leases back (at most 5 s more if the database does not answer): stop
# with -t 15 (compose.yaml's stop_grace_period) to cover the worst case.
ENTRYPOINT ["/usr/local/bin/fieldfix"]
CMD ["serve"]
