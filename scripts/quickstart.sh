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
# A previous run's containers would still hold port 8080.
docker ps -aq --filter "label=ops.project=$(basename "$work")" | xargs -r docker rm -f >/dev/null
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

# The closed loop: a risk scorer trained on the history above; a release that crashes after going live;
# watch opens an incident naming it; triage ranks the causes and rolls back; the outcome retrains.
step "the loop, 1/6: ops risk train --promote production (mine, SZZ-label, train, register risk-scorer behind a gate)"
cat >> ops.config.yaml <<'YAML'
models:
  gates:
    risk-scorer@production:
      - { metric: auc, threshold: 0.5 }
      - { metric: testRows, minAbsoluteChange: 0 }   # compared with the version it replaces
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

step "the loop, 4/6: ops triage (evidence, ranked hypotheses, actions)"
ops triage

step "the loop, 5/6: ops triage --apply 1 --yes (roll back, check with one watch cycle, resolve with the cause)"
ops triage --apply 1 --yes
ops deploy history web --env local
curl -fsS http://127.0.0.1:8080/health

step "the loop, 6/6: ops risk train again: the rolled-back release's commit is now labelled, the new version gated against the old"
ops risk train --promote production --reason "after the incident"
ops model history risk-scorer --alias production

step "done: try 'cd $work && node $here/bin/ops.js --help'"
