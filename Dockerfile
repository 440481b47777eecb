# syntax=docker/dockerfile:1
# Container image of mailscope, for `mailscope reconcile` in Kubernetes (see
# deploy/) or any scheduler: one static binary on a distroless base (CA
# certificates, no shell, no package manager), running as UID 10001.
#
#   docker build -t mailscope:0.1.0 .
#   docker buildx build --platform linux/amd64,linux/arm64 -t ghcr.io/OWNER/mailscope:0.1.0 .
#
# The build stage runs on the builder's own platform and cross-compiles a
# static (musl) binary for the target platform with cargo-zigbuild, so a
# multi-arch build needs no CPU emulation. The image holds no credential:
# mount the desired-state file and give the pod a federated token
# (AZURE_FEDERATED_TOKEN_FILE), see docs/gitops.md.

FROM --platform=$BUILDPLATFORM rust:1.90-bookworm AS build
ARG TARGETARCH
# zig (from its PyPI wheel) is the cross linker cargo-zigbuild drives.
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3-pip \
    && rm -rf /var/lib/apt/lists/* \
    && python3 -m pip install --no-cache-dir --break-system-packages ziglang==0.13.0 \
    && cargo install --locked cargo-zigbuild@0.20.1
RUN case "$TARGETARCH" in \
      amd64) echo x86_64-unknown-linux-musl > /target ;; \
      arm64) echo aarch64-unknown-linux-musl > /target ;; \
      *) echo "unsupported TARGETARCH $TARGETARCH" >&2; exit 1 ;; \
    esac \
    && rustup target add "$(cat /target)"
WORKDIR /src
COPY . .
RUN target="$(cat /target)" \
    && cargo zigbuild --release --locked -p mailscope-cli --target "$target" \
    && install -D -m 0755 "target/$target/release/mailscope" /out/mailscope \
    && mkdir -p /out/state

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/mailscope /usr/local/bin/mailscope
# The journal's default home, owned by the runtime user (Kubernetes mounts a
# volume here; see deploy/reconcile-deployment.yaml).
COPY --from=build --chown=10001:10001 /out/state /var/lib/mailscope
USER 10001:10001
WORKDIR /var/lib/mailscope
EXPOSE 9464
# SIGTERM lets the step in flight finish, then the loop exits 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/mailscope"]
CMD ["reconcile", "/policies/policies.yaml", "--every", "15m", \
     "--metrics-listen", "0.0.0.0:9464", \
     "--journal", "/var/lib/mailscope/journal.jsonl"]
