#!/usr/bin/env bash
# The README's first quick-start command: installs what ops needs on Debian 12 (when root), builds
# ops, and runs it on the bundled sample service in a scratch repository.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
work=${OPS_QUICKSTART_DIR:-/tmp/ops-quickstart}
port=${OPS_QUICKSTART_PORT:-8080}
step() { printf '\n==> %s\n' "$*" >&2; }

step "installing and starting the Docker engine, the base image and a registry on 127.0.0.1:5000"
bash "$here/scripts/setup.sh"

cd "$here"
# The test of this script runs it on the suite's build, which a reinstall would pull from under it.
if [ -z "${OPS_QUICKSTART_BUILT:-}" ]; then
  step "installing ops"
  npm ci --no-fund --no-audit
  npm run build --silent
fi
ops() { node "$here/bin/ops.js" "$@"; }

step "copying the sample service to $work (a new git repository)"
# A previous run's containers would still hold the port.
docker ps -aq --filter "label=ops.project=$(basename "$work")" | xargs -r docker rm -f >/dev/null
rm -rf "$work"
cp -r "$here/examples/sample" "$work"
cd "$work"
git init -q -b main
git -c user.name=ops-quickstart -c user.email=quickstart@ops.invalid add -A
git -c user.name=ops-quickstart -c user.email=quickstart@ops.invalid commit -q -m "sample service"

step "ops init --no-input --registry 127.0.0.1:5000"
ops init --no-input --registry 127.0.0.1:5000
[ "$port" = 8080 ] || sed -i "s/- 8080:8080/- $port:8080/" ops.config.yaml
cat ops.config.yaml
git -c user.name=ops-quickstart -c user.email=quickstart@ops.invalid add -A
git -c user.name=ops-quickstart -c user.email=quickstart@ops.invalid commit -q -m "ops config"

step "a history for the risk scorer: 40 changes, every fourth by a newcomer and fixed two commits later"
commit() { git -c user.name="$1" -c user.email="$1@ops.invalid" commit -q -m "$2"; }
mkdir -p app
bug=""
for i in $(seq 0 39); do
  file="app/module$((i % 5)).js"
  export GIT_AUTHOR_DATE="2025-01-$(printf %02d $((i / 2 + 1)))T$(printf %02d $((i % 2 * 6 + 8))):00:00Z"
  export GIT_COMMITTER_DATE="$GIT_AUTHOR_DATE"
  if [ -n "$bug" ] && [ $((i % 4)) -eq 2 ]; then
    sed -i "s/^export const bug$bug = .*/export const fixed$bug = true;/" "$bugfile"
    git add -A && commit maintainer "fix: repair $bugfile"
    bug=""
    continue
  fi
  if [ $((i % 4)) -eq 0 ]; then
    for k in $(seq 30); do echo "export const v${i}_$k = $k;" >> "$file"; done
    echo "export const bug$i = undefined;" >> "$file"
    bug=$i bugfile=$file
    git add -A && commit newcomer "change $i"
  else
    for k in 1 2 3; do echo "export const v${i}_$k = $k;" >> "$file"; done
    git add -A && commit maintainer "change $i"
  fi
done
unset GIT_AUTHOR_DATE GIT_COMMITTER_DATE
git log --oneline -3

step "ops doctor"
ops doctor

step "ops build --push (the sample service, tagged by git state, pushed to 127.0.0.1:5000)"
ops build --push

step "ops build again: unchanged inputs, so the engine build is skipped"
ops build

step "ops deploy web --env local (start-first on the local engine, health-gated by the image's HEALTHCHECK)"
ops deploy web --env local
curl -fsS http://127.0.0.1:$port/health

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

# The closed loop: a risk scorer trained on the history above; a release that crashes after going live;
# watch opens an incident naming it; triage ranks the causes and rolls back; the outcome retrains.
step "the loop, 1/6: ops risk train --promote production (mine, SZZ-label, train, register risk-scorer behind a gate)"
cat >> ops.config.yaml <<'YAML'
models:
  gates:
    risk-scorer@production:
      - { metric: auc, threshold: 0.5 }
      - { metric: auc, minAbsoluteChange: 0 }   # no worse than the version it replaces, on the same held-out rows
    demand@production:
      - { metric: auc, minAbsoluteChange: 0 }
watch:
  sources:
    - { type: docker, service: web, env: local }
YAML
ops risk train --promote production --reason "quick start"

step "the loop, 2/6: a release that passes its health check, then crashes 8 s later (DATABASE_URL unset)"
sed -i '/^CMD /d' web/Dockerfile
cat >> web/Dockerfile <<'DOCKERFILE'
CMD ["sh", "-c", "httpd -p 8080 -h /www; sleep 8; [ ${#DATABASE_URL} -gt 0 ] || { echo fatal: required environment variable DATABASE_URL is not set >&2; exit 1; }; while sleep 3600; do :; done"]
DOCKERFILE
git add -A && commit quickstart "read settings from DATABASE_URL"
ops build
ops deploy web --env local --accept-risk "quick start: shipping a crash on purpose"

step "the loop, 3/6: ops watch --once until it opens an incident (the container crashes and restarts)"
for attempt in $(seq 30); do
  if ops watch --once; then sleep 2; else break; fi
done
ops incident list
ops incident show 1

step "the loop, 4/6: ops triage (evidence, ranked hypotheses, actions)"
ops triage

step "the loop, 5/6: ops triage --apply 1 --yes (roll back, check with watch cycles, resolve with the cause)"
ops triage --apply 1 --yes
ops deploy history web --env local
curl -fsS http://127.0.0.1:$port/health

step "what a redeploy would ship: the commits since the one that runs now (revision 3's image), the crash among them"
ops risk score --service web --env local

step "the loop, 6/6: ops risk train again: the rolled-back release's commit is now labelled, the new version gated against the old"
# Exit 3 is the gate keeping the current version; anything else but 0 is a failure.
status=0
ops risk train --promote production --reason "after the incident" || status=$?
case $status in
  0) echo "the new version passed its gates and holds production" >&2 ;;
  3) echo "the gate kept the version that holds production: the new one is worse on the same held-out rows" >&2 ;;
  *) exit "$status" ;;
esac
ops model history risk-scorer --alias production

step "a gate that blocks a worse model: the built-in forest on one CSV, then a single shallow tree on it"
# Busy hours: load and queue length above a line, with a deterministic 1-in-7 flip as noise.
awk 'BEGIN { print "load,queue,busy"; for (i = 0; i < 600; i++) { l = (i * 37) % 101; q = (i * 53) % 97; b = (l + q > 100) != (i % 7 == 0); print l "," q "," b } }' > demand.csv
ops model train demand --data demand.csv --target busy --split random:0.25 --register
ops model promote demand --to production --reason "first version"
ops model train demand --data demand.csv --target busy --split random:0.25 --param nTrees=1 --param maxDepth=1 --register
status=0
ops model promote demand --to production --reason "a single shallow tree" || status=$?
[ "$status" -eq 3 ] || { echo "quickstart: the gate should have blocked demand v2 (exit 3), got exit $status" >&2; exit 1; }
ops model history demand --alias production

step "done: try 'cd $work && node $here/bin/ops.js --help'"
