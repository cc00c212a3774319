#!/usr/bin/env bash
# The raw Docker calls one start-first deploy makes, as a person would script them with the docker
# CLI: create and start the new container, wait for its HEALTHCHECK, remove the previous one.
# Usage: raw-docker-deploy.sh <image> <container name>
set -euo pipefail
image=$1 name=$2
old=$(docker ps -aq --filter label=ops.project=bench-raw --filter label=ops.service=web)
docker create --name "$name" --label ops.project=bench-raw --label ops.service=web --label ops.env=raw \
  --init --restart unless-stopped --stop-timeout 10 "$image" >/dev/null
docker start "$name" >/dev/null
until [ "$(docker inspect -f '{{.State.Health.Status}}' "$name")" = healthy ]; do sleep 0.25; done
if [ -n "$old" ]; then docker rm -f $old >/dev/null; fi
