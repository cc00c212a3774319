/**
 * Ordered schema migrations; `PRAGMA user_version` is the index of the last one applied.
 * Append only: never edit a migration that has shipped.
 */
export const migrations: readonly string[] = [
  // 1: the whole domain, so later features extend rather than fight it.
  `
  CREATE TABLE runs (
    id            INTEGER PRIMARY KEY,
    kind          TEXT    NOT NULL,
    status        TEXT    NOT NULL CHECK (status IN ('running','succeeded','failed','interrupted')),
    started_at    INTEGER NOT NULL,
    finished_at   INTEGER,
    heartbeat_at  INTEGER NOT NULL,
    service       TEXT,
    env           TEXT,
    git_sha       TEXT,
    git_branch    TEXT,
    git_dirty     INTEGER,
    actor         TEXT    NOT NULL,
    host          TEXT    NOT NULL,
    pid           INTEGER NOT NULL,
    ci            INTEGER NOT NULL DEFAULT 0,
    argv          TEXT    NOT NULL,
    exit_code     INTEGER,
    error         TEXT,
    params        TEXT,
    metrics       TEXT
  );
  CREATE INDEX runs_kind ON runs (kind, id);
  CREATE INDEX runs_status ON runs (status, id);
  CREATE INDEX runs_started ON runs (started_at);

  CREATE TABLE run_logs (
    id      INTEGER PRIMARY KEY,
    run_id  INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    at      INTEGER NOT NULL,
    stream  TEXT    NOT NULL,
    text    TEXT    NOT NULL
  );
  CREATE INDEX run_logs_run ON run_logs (run_id, id);

  CREATE TABLE artifacts (
    digest      TEXT PRIMARY KEY,
    size_bytes  INTEGER NOT NULL,
    media_type  TEXT,
    created_at  INTEGER NOT NULL
  );
  CREATE TABLE run_artifacts (
    run_id  INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    name    TEXT    NOT NULL,
    digest  TEXT    NOT NULL REFERENCES artifacts (digest),
    PRIMARY KEY (run_id, name)
  );

  CREATE TABLE builds (
    id            INTEGER PRIMARY KEY,
    run_id        INTEGER NOT NULL REFERENCES runs (id),
    service       TEXT    NOT NULL,
    image         TEXT    NOT NULL,
    tags          TEXT    NOT NULL,
    image_id      TEXT,
    repo_digest   TEXT,
    input_digest  TEXT    NOT NULL,
    cached        INTEGER NOT NULL DEFAULT 0,
    size_bytes    INTEGER,
    duration_ms   INTEGER,
    git_sha       TEXT,
    git_branch    TEXT,
    git_dirty     INTEGER,
    status        TEXT    NOT NULL,
    created_at    INTEGER NOT NULL
  );
  CREATE INDEX builds_service ON builds (service, id);
  CREATE INDEX builds_input ON builds (input_digest);

  CREATE TABLE releases (
    id             INTEGER PRIMARY KEY,
    run_id         INTEGER REFERENCES runs (id),
    service        TEXT    NOT NULL,
    env            TEXT    NOT NULL,
    revision       INTEGER NOT NULL,
    image          TEXT    NOT NULL,
    digest         TEXT,
    config_hash    TEXT,
    git_sha        TEXT,
    actor          TEXT    NOT NULL,
    status         TEXT    NOT NULL CHECK (status IN ('pending','deployed','superseded','failed','rolled_back')),
    description    TEXT,
    rollback_to    INTEGER,
    risk_score_id  INTEGER REFERENCES risk_scores (id),
    accepted_risk  TEXT,
    created_at     INTEGER NOT NULL,
    finished_at    INTEGER,
    duration_ms    INTEGER,
    UNIQUE (service, env, revision)
  );

  CREATE TABLE locks (
    name          TEXT PRIMARY KEY,
    owner_pid     INTEGER NOT NULL,
    owner_host    TEXT    NOT NULL,
    run_id        INTEGER,
    acquired_at   INTEGER NOT NULL,
    heartbeat_at  INTEGER NOT NULL
  );

  CREATE TABLE datasets (
    digest      TEXT PRIMARY KEY,
    path        TEXT    NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('file','dir')),
    size_bytes  INTEGER NOT NULL,
    created_at  INTEGER NOT NULL
  );

  CREATE TABLE models (
    name        TEXT PRIMARY KEY,
    description TEXT,
    created_at  INTEGER NOT NULL
  );
  CREATE TABLE model_versions (
    id               INTEGER PRIMARY KEY,
    model            TEXT    NOT NULL REFERENCES models (name),
    version          INTEGER NOT NULL,
    run_id           INTEGER REFERENCES runs (id),
    artifact_digest  TEXT    REFERENCES artifacts (digest),
    params           TEXT,
    metrics          TEXT,
    created_at       INTEGER NOT NULL,
    UNIQUE (model, version)
  );
  CREATE TABLE model_aliases (
    model       TEXT    NOT NULL REFERENCES models (name),
    alias       TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (model, alias)
  );
  CREATE TABLE alias_events (
    id            INTEGER PRIMARY KEY,
    model         TEXT    NOT NULL REFERENCES models (name),
    alias         TEXT    NOT NULL,
    from_version  INTEGER,
    to_version    INTEGER,
    actor         TEXT    NOT NULL,
    reason        TEXT,
    forced        INTEGER NOT NULL DEFAULT 0,
    at            INTEGER NOT NULL
  );
  CREATE INDEX alias_events_model ON alias_events (model, alias, at);

  CREATE TABLE lineage_edges (
    src_type    TEXT NOT NULL,
    src_id      TEXT NOT NULL,
    dst_type    TEXT NOT NULL,
    dst_id      TEXT NOT NULL,
    relation    TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (src_type, src_id, dst_type, dst_id, relation)
  );
  CREATE INDEX lineage_dst ON lineage_edges (dst_type, dst_id);

  CREATE TABLE incidents (
    id             INTEGER PRIMARY KEY,
    fingerprint    TEXT    NOT NULL,
    service        TEXT    NOT NULL,
    env            TEXT,
    condition      TEXT    NOT NULL,
    resource       TEXT,
    state          TEXT    NOT NULL CHECK (state IN ('open','acknowledged','resolved')),
    title          TEXT    NOT NULL,
    signal_count   INTEGER NOT NULL DEFAULT 1,
    opened_at      INTEGER NOT NULL,
    last_seen_at   INTEGER NOT NULL,
    resolved_at    INTEGER,
    cause          TEXT,
    cause_release  INTEGER REFERENCES releases (id),
    recurrence_of  INTEGER REFERENCES incidents (id)
  );
  CREATE INDEX incidents_fingerprint ON incidents (fingerprint, state);
  CREATE INDEX incidents_state ON incidents (state, id);
  CREATE TABLE incident_events (
    id           INTEGER PRIMARY KEY,
    incident_id  INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    at           INTEGER NOT NULL,
    kind         TEXT    NOT NULL,
    data         TEXT
  );
  CREATE INDEX incident_events_incident ON incident_events (incident_id, id);

  CREATE TABLE risk_scores (
    id                INTEGER PRIMARY KEY,
    run_id            INTEGER REFERENCES runs (id),
    service           TEXT,
    env               TEXT,
    commit_range      TEXT,
    probability       REAL    NOT NULL,
    level             TEXT    NOT NULL,
    reasons           TEXT    NOT NULL,
    model_version_id  INTEGER REFERENCES model_versions (id),
    created_at        INTEGER NOT NULL
  );
  `,
  // 2: what a release ran on, its risk verdict (a score or "not scored") and its error.
  `
  ALTER TABLE releases ADD COLUMN target TEXT;
  ALTER TABLE releases ADD COLUMN risk TEXT;
  ALTER TABLE releases ADD COLUMN error TEXT;
  ALTER TABLE releases ADD COLUMN details TEXT;
  CREATE INDEX releases_service_env ON releases (service, env, revision);
  `,
  // 3: the model registry: what a training run used (details), who registered a version from what,
  // and the indexes its queries walk.
  `
  ALTER TABLE runs ADD COLUMN details TEXT;
  ALTER TABLE model_versions ADD COLUMN actor TEXT;
  ALTER TABLE model_versions ADD COLUMN source TEXT;
  CREATE INDEX model_versions_run ON model_versions (run_id);
  CREATE INDEX alias_events_history ON alias_events (model, alias, id);
  CREATE INDEX risk_scores_model_version ON risk_scores (model_version_id);
  CREATE INDEX releases_risk_score ON releases (risk_score_id);
  `,
  // 4: the risk scorer's mined commits (features cached by sha), where each repository's mining
  // stopped, and commit labels (SZZ, failed releases, incident causes) with their evidence.
  `
  CREATE TABLE commit_features (
    repo      TEXT    NOT NULL,
    sha       TEXT    NOT NULL,
    seq       INTEGER NOT NULL,
    at        INTEGER NOT NULL,
    author    TEXT    NOT NULL,
    subject   TEXT    NOT NULL,
    features  TEXT    NOT NULL,
    PRIMARY KEY (repo, sha)
  );
  CREATE INDEX commit_features_order ON commit_features (repo, at, seq);
  CREATE TABLE mining_state (
    repo        TEXT PRIMARY KEY,
    head        TEXT,
    state       TEXT    NOT NULL,
    updated_at  INTEGER NOT NULL
  );
  CREATE TABLE commit_labels (
    repo      TEXT NOT NULL,
    sha       TEXT NOT NULL,
    source    TEXT NOT NULL,
    evidence  TEXT NOT NULL,
    at        INTEGER NOT NULL,
    PRIMARY KEY (repo, sha, source, evidence)
  );
  CREATE TABLE szz_fixes (
    repo  TEXT NOT NULL,
    sha   TEXT NOT NULL,
    PRIMARY KEY (repo, sha)
  );
  ALTER TABLE risk_scores ADD COLUMN details TEXT;
  `,
  // 5: watch and incidents: the signals behind each incident (and those waiting for minCount/for),
  // suspected releases, what each source last said (and remembers between cycles), notifications.
  `
  ALTER TABLE incidents ADD COLUMN severity TEXT;
  ALTER TABLE incidents ADD COLUMN began_at INTEGER;
  ALTER TABLE incidents ADD COLUMN acknowledged_at INTEGER;
  ALTER TABLE incidents ADD COLUMN acknowledged_by TEXT;
  ALTER TABLE incidents ADD COLUMN resolved_by TEXT;
  ALTER TABLE incidents ADD COLUMN note TEXT;
  CREATE INDEX incidents_service ON incidents (service, env, state);
  CREATE TABLE incident_signals (
    id             INTEGER PRIMARY KEY,
    incident_id    INTEGER REFERENCES incidents (id) ON DELETE CASCADE,
    fingerprint    TEXT    NOT NULL,
    source         TEXT    NOT NULL,
    service        TEXT    NOT NULL,
    env            TEXT    NOT NULL,
    condition      TEXT    NOT NULL,
    resource       TEXT    NOT NULL,
    severity       TEXT    NOT NULL,
    message        TEXT    NOT NULL,
    details        TEXT,
    count          INTEGER NOT NULL,
    first_seen_at  INTEGER NOT NULL,
    last_seen_at   INTEGER NOT NULL,
    cleared_at     INTEGER
  );
  CREATE INDEX incident_signals_fingerprint ON incident_signals (fingerprint, incident_id);
  CREATE INDEX incident_signals_incident ON incident_signals (incident_id);
  CREATE INDEX incident_signals_source ON incident_signals (source, cleared_at);
  CREATE TABLE incident_suspects (
    incident_id  INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    release_id   INTEGER NOT NULL REFERENCES releases (id),
    rank         INTEGER NOT NULL,
    score        REAL    NOT NULL,
    before_ms    INTEGER NOT NULL,
    risk         REAL,
    PRIMARY KEY (incident_id, release_id)
  );
  CREATE TABLE watch_sources (
    key         TEXT PRIMARY KEY,
    type        TEXT    NOT NULL,
    service     TEXT    NOT NULL,
    env         TEXT    NOT NULL,
    checked_at  INTEGER NOT NULL,
    ok_at       INTEGER,
    error       TEXT,
    errors      INTEGER NOT NULL DEFAULT 0,
    memory      TEXT
  );
  CREATE TABLE notifications (
    id           INTEGER PRIMARY KEY,
    incident_id  INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    event        TEXT    NOT NULL,
    target       TEXT    NOT NULL,
    status       TEXT    NOT NULL CHECK (status IN ('sent','failed')),
    attempts     INTEGER NOT NULL,
    error        TEXT,
    at           INTEGER NOT NULL
  );
  CREATE INDEX notifications_incident ON notifications (incident_id, id);
  `,
  // 6: triage: the evidence and ranked hypotheses of each \`ops triage\`, and the remediation actions
  // applied from them with their results.
  `
  CREATE TABLE triage_reports (
    id           INTEGER PRIMARY KEY,
    incident_id  INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    actor        TEXT    NOT NULL,
    evidence     TEXT    NOT NULL,
    hypotheses   TEXT    NOT NULL,
    duration_ms  INTEGER NOT NULL,
    created_at   INTEGER NOT NULL
  );
  CREATE INDEX triage_reports_incident ON triage_reports (incident_id, id);
  CREATE TABLE incident_actions (
    id           INTEGER PRIMARY KEY,
    incident_id  INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    report_id    INTEGER NOT NULL REFERENCES triage_reports (id),
    action       INTEGER NOT NULL,
    kind         TEXT    NOT NULL,
    command      TEXT    NOT NULL,
    actor        TEXT    NOT NULL,
    status       TEXT    NOT NULL CHECK (status IN ('succeeded','failed')),
    result       TEXT,
    at           INTEGER NOT NULL
  );
  CREATE INDEX incident_actions_incident ON incident_actions (incident_id, id);
  `,
  // 7: delivery metrics: the commits each release carried first to its service and environment
  // (lead time), and the indexes the four keys' window queries walk.
  `
  CREATE TABLE release_changes (
    release_id   INTEGER NOT NULL REFERENCES releases (id) ON DELETE CASCADE,
    sha          TEXT    NOT NULL,
    authored_at  INTEGER NOT NULL,
    PRIMARY KEY (release_id, sha)
  );
  CREATE INDEX releases_env_finished ON releases (env, finished_at);
  CREATE INDEX incidents_cause_release ON incidents (cause_release);
  `,
  // 8: the risk scorer's commit classes (fix, revert, bot, release, merge, other, with the reason)
  // and what SZZ made of each fix (labelled, skipped as too large, candidates dropped and why).
  `
  ALTER TABLE commit_features ADD COLUMN kind TEXT NOT NULL DEFAULT 'other';
  ALTER TABLE commit_features ADD COLUMN reason TEXT;
  ALTER TABLE commit_features ADD COLUMN details TEXT;
  CREATE INDEX commit_features_kind ON commit_features (repo, kind);
  ALTER TABLE szz_fixes ADD COLUMN outcome TEXT;
  `,
  // 9: data profiles kept by dataset digest, and each suite run against a dataset (by a training
  // run, or overridden with the reason).
  `
  CREATE TABLE dataset_profiles (
    digest      TEXT PRIMARY KEY,
    row_count   INTEGER NOT NULL,
    profile     TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
  );
  CREATE TABLE data_checks (
    id          INTEGER PRIMARY KEY,
    digest      TEXT    NOT NULL,
    run_id      INTEGER REFERENCES runs (id),
    suite       TEXT    NOT NULL,
    passed      INTEGER NOT NULL,
    failed      TEXT    NOT NULL,
    checks      TEXT    NOT NULL,
    override    TEXT,
    created_at  INTEGER NOT NULL
  );
  CREATE INDEX data_checks_run ON data_checks (run_id, id);
  CREATE INDEX data_checks_digest ON data_checks (digest, id);
  `,
  // 10: predictions per model version (from `ops model predict --log` or `ops model log`), with the
  // caller's id that a delayed label (`ops model label`) finds them by.
  `
  CREATE TABLE predictions (
    id           INTEGER PRIMARY KEY,
    model        TEXT    NOT NULL,
    version      INTEGER NOT NULL,
    external_id  TEXT,
    inputs       TEXT    NOT NULL,
    output       TEXT    NOT NULL,
    label        TEXT,
    labelled_at  INTEGER,
    source       TEXT    NOT NULL,
    at           INTEGER NOT NULL
  );
  CREATE INDEX predictions_model_at ON predictions (model, at);
  CREATE INDEX predictions_version_at ON predictions (model, version, at);
  CREATE UNIQUE INDEX predictions_external ON predictions (model, external_id);
  `,
  // 11: the content-addressed artifact store of a PostgreSQL ledger (a SQLite ledger keeps its
  // private folder beside the file): each blob once by digest, in chunks of at most 1 MiB, each with
  // its own digest so that a damaged one is named; a blob row and its chunks commit together.
  `
  CREATE TABLE blobs (
    digest      TEXT PRIMARY KEY,
    size_bytes  INTEGER NOT NULL,
    chunks      INTEGER NOT NULL,
    created_at  INTEGER NOT NULL
  );
  CREATE TABLE blob_chunks (
    digest        TEXT    NOT NULL REFERENCES blobs (digest) ON DELETE CASCADE,
    idx           INTEGER NOT NULL,
    chunk_digest  TEXT    NOT NULL,
    bytes         BLOB    NOT NULL,
    PRIMARY KEY (digest, idx)
  );
  `,
  // 12: at most one live signal and one unresolved incident per fingerprint, held by the database:
  // live_fingerprint is the fingerprint while live, NULL after (unique indexes let NULLs repeat),
  // so parallel watchers insert-or-get instead of reading then inserting.
  `
  ALTER TABLE incident_signals ADD COLUMN live_fingerprint TEXT;
  UPDATE incident_signals SET live_fingerprint = fingerprint WHERE id IN (
    SELECT max(s.id) FROM incident_signals s LEFT JOIN incidents i ON i.id = s.incident_id
    WHERE s.incident_id IS NULL OR i.state != 'resolved' GROUP BY s.fingerprint);
  CREATE UNIQUE INDEX incident_signals_live ON incident_signals (live_fingerprint);
  ALTER TABLE incidents ADD COLUMN live_fingerprint TEXT;
  UPDATE incidents SET live_fingerprint = fingerprint WHERE id IN (
    SELECT max(id) FROM incidents WHERE state != 'resolved' GROUP BY fingerprint);
  CREATE UNIQUE INDEX incidents_live ON incidents (live_fingerprint);
  `,
  // 13: how far \`ops model log\` has read each append-only predictions file, so that a rerun records
  // only the lines written since (and starts over on a file that was rotated).
  `
  CREATE TABLE prediction_files (
    path          TEXT    PRIMARY KEY,
    offset_bytes  INTEGER NOT NULL,
    line_count    INTEGER NOT NULL,
    head          TEXT    NOT NULL,
    updated_at    INTEGER NOT NULL
  );
  `,
  // 14: facts about the ledger itself: the project whose data it holds (recorded when a ledger is
  // copied in), so that a copy into another project's ledger is refused.
  `
  CREATE TABLE ledger_meta (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
  );
  `,
  // 15: when a check of the ledger itself last ran (a SQLite ledger's quick_check runs at most hourly).
  `
  CREATE TABLE ledger_checks (
    name        TEXT PRIMARY KEY,
    checked_at  INTEGER NOT NULL,
    result      TEXT NOT NULL
  );
  `,
];

export const SCHEMA_VERSION = migrations.length;
