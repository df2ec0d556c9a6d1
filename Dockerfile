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
# Agents keep their agent token in /state, the hub its Git cache and (without
# FLOTILLA_SECRET_KEY) its key file in /data, `flotilla hub nats-init` the NATS keys in
# /nats-auth (volumes in docker-compose.yml).
RUN mkdir -p /state /data /nats-auth && chown node:node /state /data /nats-auth
USER node
EXPOSE 8080 9090
ENTRYPOINT ["node", "/app/bin/flotilla.js"]
CMD ["hub"]
