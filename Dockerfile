# The Runbook worker image (orchestration worker of docker-compose.temporal.yml).
FROM node:20-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends postgresql-client zip unzip git ca-certificates \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/runbook
COPY package.json package-lock.json ./
RUN npm install --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
COPY bin ./bin
COPY examples ./examples
RUN npm run build && npm prune --omit=dev
ENV NODE_ENV=production
CMD ["node", "dist/workers/main.js"]
