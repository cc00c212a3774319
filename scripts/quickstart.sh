#!/usr/bin/env bash
# The README's first quick-start command: installs what ops needs on Debian 12 (when root), builds
# ops, and runs it on the bundled sample service in a scratch repository.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
work=${OPS_QUICKSTART_DIR:-/tmp/ops-quickstart}
step() { printf '\n==> %s\n' "$*" >&2; }

step "installing and starting the Docker engine, the base image and a registry on 127.0.0.1:5000"
bash "$here/scripts/setup.sh"

step "installing ops"
cd "$here"
npm ci --no-fund --no-audit
npm run build --silent
ops() { node "$here/bin/ops.js" "$@"; }

step "copying the sample service to $work (a new git repository)"
rm -rf "$work"
cp -r "$here/examples/sample" "$work"
cd "$work"
git init -q -b main
git -c user.name=ops-quickstart -c user.email=quickstart@ops.invalid add -A
git -c user.name=ops-quickstart -c user.email=quickstart@ops.invalid commit -q -m "sample service"

step "ops init --no-input --registry 127.0.0.1:5000"
ops init --no-input --registry 127.0.0.1:5000
cat ops.config.yaml
git -c user.name=ops-quickstart -c user.email=quickstart@ops.invalid add -A
git -c user.name=ops-quickstart -c user.email=quickstart@ops.invalid commit -q -m "ops config"

step "ops doctor"
ops doctor

step "ops build --push (the sample service, tagged by git state, pushed to 127.0.0.1:5000)"
ops build --push

step "ops build again: unchanged inputs, so the engine build is skipped"
ops build

step "ops deploy web --env local (start-first on the local engine, health-gated by the image's HEALTHCHECK)"
ops deploy web --env local
curl -fsS http://127.0.0.1:8080/health

step "a second release, then a rollback to the first"
echo "<p>second release</p>" >> web/www/index.html
git -c user.name=ops-quickstart -c user.email=quickstart@ops.invalid commit -q -am "second release"
ops build
ops deploy web --env local
ops deploy rollback web --env local
ops deploy history web --env local
ops deploy status --env local

step "ops runs list"
ops runs list

step "done: try 'cd $work && node $here/bin/ops.js --help'"
