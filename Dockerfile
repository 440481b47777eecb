# Container image of mailscope, for `mailscope reconcile` in Kubernetes (see
# deploy/) or any scheduler. Build: docker build -t mailscope:0.1.0 .
# The image holds no credential: mount the desired-state file and give the
# pod a federated token (AZURE_FEDERATED_TOKEN_FILE), see docs/gitops.md.

FROM rust:1.90-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p mailscope-cli \
    && strip target/release/mailscope

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/mailscope --create-home mailscope
COPY --from=build /src/target/release/mailscope /usr/local/bin/mailscope
USER 10001
WORKDIR /var/lib/mailscope
EXPOSE 9464
# SIGTERM lets the step in flight finish, then the loop exits 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/mailscope"]
CMD ["reconcile", "/policies/policies.yaml", "--every", "15m", \
     "--metrics-listen", "0.0.0.0:9464", \
     "--journal", "/var/lib/mailscope/journal.jsonl"]
