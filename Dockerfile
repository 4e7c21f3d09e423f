# dropreason node agent image.
#
#   docker build -t dropreason .
#   docker run --rm --cap-drop ALL --cap-add BPF --cap-add PERFMON --cap-add NET_ADMIN \
#     --cap-add SYS_RESOURCE dropreason
#
# The image runs as a non-root user whose node binary carries file capabilities (see the
# runtime stage): the container must be given all four capabilities above, or the kernel
# refuses to start node at all. deploy/kubernetes/ holds the DaemonSet that does this.
# Only x86_64 is built: bpf/vmlinux/ holds no other architecture's vmlinux.h yet.

# Build stage: the BPF object, the native addon and the TypeScript, then the production
# node_modules. Debian bookworm, as in the runtime stage, so the addon links the same libbpf.
FROM node:24-bookworm AS build
RUN apt-get update \
  && apt-get install -y --no-install-recommends clang llvm libbpf-dev libelf-dev zlib1g-dev pkg-config make g++ python3 \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# node-gyp builds against the headers of the image's own Node instead of downloading them.
ENV npm_config_nodedir=/usr/local
COPY package.json package-lock.json ./
# --ignore-scripts: the addon is built below, once its sources are in.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json binding.gyp ./
COPY bpf/ ./bpf/
COPY native/ ./native/
COPY src/ ./src/
RUN npm run build:bpf
RUN npm run build:native
RUN npm run build:ts
RUN npm prune --omit=dev --ignore-scripts --no-audit --no-fund

# Runtime stage: Node 24 slim and the shared libraries the addon links (ldd
# build/Release/bpf_addon.node: libbpf, libelf, zlib; libstdc++ and libc come with Node).
FROM node:24-bookworm-slim AS runtime
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="dropreason" \
  org.opencontainers.image.description="Counts the packets the Linux kernel drops, by reason and direction, with eBPF, and exports them as OpenTelemetry metrics." \
  org.opencontainers.image.version="${VERSION}" \
  org.opencontainers.image.licenses="Apache-2.0"

# Kubernetes cannot give a non-root container ambient capabilities, so the capabilities
# the agent needs are set on the node binary itself (file capabilities, +ep). The kernel
# grants them only if they are in the container's bounding set (the DaemonSet's
# capabilities.add), and refuses to execute node if one of them is missing there.
#   CAP_BPF, CAP_PERFMON: load and attach the tracing programs (Linux 5.8+).
#   CAP_NET_ADMIN:        networking BPF helpers and program types.
#   CAP_SYS_RESOURCE:     raise RLIMIT_MEMLOCK, which kernels before 5.11 need for maps.
# Kernels before 5.8 know neither CAP_BPF nor CAP_PERFMON: there the container runs as
# root with CAP_SYS_ADMIN instead (deploy/kubernetes/README.md).
# Node with file capabilities runs in secure-execution mode, where glibc ignores
# MALLOC_ARENA_MAX and GLIBC_TUNABLES (bin/dropreason); the malloc setting that matters
# (the mmap threshold) is set in code instead (src/native/binding.ts).
# setuid and setgid bits are removed, so the user cannot gain more than node is given.
RUN apt-get update \
  && apt-get install -y --no-install-recommends libbpf1 libelf1 zlib1g libcap2-bin \
  && setcap cap_bpf,cap_perfmon,cap_net_admin,cap_sys_resource+ep /usr/local/bin/node \
  && apt-get purge -y libcap2-bin \
  && rm -rf /var/lib/apt/lists/* \
  && find / -xdev -type f -perm /6000 -exec chmod a-s {} +
RUN groupadd --system --gid 65532 dropreason \
  && useradd --system --uid 65532 --gid 65532 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin dropreason

WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules/
COPY --from=build /src/dist ./dist/
COPY --from=build /src/build/Release/bpf_addon.node ./build/Release/
COPY bin/ ./bin/
COPY otel-config.yaml ./

USER 65532:65532
# The agent's own metrics endpoint (service.telemetry.metrics.address in otel-config.yaml);
# a config of your own must keep it for this check. The image has no curl: node fetches.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8888/metrics').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["/app/bin/dropreason"]
