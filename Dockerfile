# simsift: the API (`serve`, the default) and the workers (`worker`) from one image. See docker-compose.yml.
# Node 22 LTS: Node 20 is end-of-life (the package supports >= 20.19).
FROM node:22-bookworm
WORKDIR /app
# Dependencies first, so a code change does not reinstall them. The full node image has the compilers that
# usearch's native addon may need.
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev && npm cache clean --force \
 && mkdir -p /data && chown node:node /data
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    SIMSIFT_DATA_DIR=/data
# Photos, thumbnails and exports: the API and the workers must share this volume.
VOLUME ["/data"]
EXPOSE 8080
USER node
ENTRYPOINT ["node", "dist/src/cli/main.js"]
CMD ["serve"]
