# syntax=docker/dockerfile:1
# One image for every role; the command picks it: `api`, `worker`, `migrate`, `simulate revio`, …
# (see compose.yaml and the README's Deployment section). Build: docker build -t simbind .
#
# node:24, not the node:20 the issue named: Node 20 reached its end of life on 2026-04-30 and gets no
# more security fixes. simbind supports Node 20.19+, 22.13+ and 24 (CI runs all three).

FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY client/prepare.mjs client/
# Production dependencies only: tsx runs the TypeScript sources, there is no build step.
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:24-bookworm-slim
WORKDIR /app
ENV HOST=0.0.0.0 PORT=3000
COPY --from=deps /app/node_modules node_modules
COPY package.json tsconfig.json ./
COPY bin bin
COPY src src
COPY simulators simulators
COPY migrations migrations
COPY web web
# Non-root: the image's `node` user (uid 1000) owns nothing here and needs to write only /tmp.
USER node
EXPOSE 3000
ENTRYPOINT ["node", "bin/simbind.js"]
CMD ["serve"]
