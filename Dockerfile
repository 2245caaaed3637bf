# A minimal image of serve-dir: the built app, production dependencies, a non-root user.
#   docker build -t serve-dir .
#   docker run --rm -p 8000:8000 -v "$PWD/site:/srv/www:ro" serve-dir
#   docker run --rm -p 8000:8000 -v "$PWD/site:/srv/www:ro" serve-dir 8000 --cors   # more flags
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
COPY app.ts ./
COPY bin ./bin
COPY lib ./lib
COPY plugins ./plugins
COPY routes ./routes
RUN npm ci --ignore-scripts --no-audit --no-fund && npm run build:ts && npm prune --omit=dev

FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
# never root: the folder is mounted read-only, the server needs no privilege
USER node
EXPOSE 8000
# the served folder; mount yours here
VOLUME ["/srv/www"]
# asks /.serve-dir/health where the server's own command line says it listens (port, address, TLS)
HEALTHCHECK --interval=30s --timeout=5s --start-period=5s --retries=3 \
  CMD ["node", "dist/bin/healthcheck.js"]
# In a container the whole network namespace is ours: listen on every interface; JSON logs on
# stderr; SIGTERM (docker stop) lets requests under way finish for 10 s. These are in the
# entrypoint, so that `docker run IMAGE --cors` adds a flag instead of replacing them (a later
# --bind or --directory still wins).
ENTRYPOINT ["node", "dist/bin/serve-dir.js", "--bind", "0.0.0.0", "--directory", "/srv/www", "--log-format", "json", "--grace", "10"]
CMD ["8000"]
