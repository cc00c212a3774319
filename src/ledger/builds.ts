import type { Db } from './db.js';

export interface BuildRecord {
  runId: number;
  service: string;
  image: string;
  tags: string[];
  imageId: string | null;
  repoDigest: string | null;
  inputDigest: string;
  cached: boolean;
  sizeBytes: number | null;
  durationMs: number;
  git: { sha: string | null; branch: string | null; dirty: boolean | null };
  status: 'built' | 'cached' | 'failed';
}

export interface StoredBuild extends BuildRecord {
  id: number;
  createdAt: string;
}

interface BuildRow {
  id: number;
  run_id: number;
  service: string;
  image: string;
  tags: string;
  image_id: string | null;
  repo_digest: string | null;
  input_digest: string;
  cached: number;
  size_bytes: number | null;
  duration_ms: number;
  git_sha: string | null;
  git_branch: string | null;
  git_dirty: number | null;
  status: BuildRecord['status'];
  created_at: number;
}

function toBuild(row: BuildRow): StoredBuild {
  return {
    id: row.id,
    runId: row.run_id,
    service: row.service,
    image: row.image,
    tags: JSON.parse(row.tags) as string[],
    imageId: row.image_id,
    repoDigest: row.repo_digest,
    inputDigest: row.input_digest,
    cached: row.cached === 1,
    sizeBytes: row.size_bytes,
    durationMs: row.duration_ms,
    git: { sha: row.git_sha, branch: row.git_branch, dirty: row.git_dirty == null ? null : row.git_dirty === 1 },
    status: row.status,
    createdAt: new Date(row.created_at).toISOString(),
  };
}

export class BuildStore {
  constructor(private readonly db: Db) {}

  async insert(build: BuildRecord, nowMs: number): Promise<number> {
    const row = await this.db.get<{ id: number }>(
      `INSERT INTO builds (run_id, service, image, tags, image_id, repo_digest, input_digest, cached, size_bytes, duration_ms,
                           git_sha, git_branch, git_dirty, status, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
      build.runId,
      build.service,
      build.image,
      JSON.stringify(build.tags),
      build.imageId,
      build.repoDigest,
      build.inputDigest,
      Number(build.cached),
      build.sizeBytes,
      build.durationMs,
      build.git.sha,
      build.git.branch,
      build.git.dirty == null ? null : Number(build.git.dirty),
      build.status,
      nowMs,
    );
    return row!.id;
  }

  /** The newest build that produced (or reused) an image from these inputs. */
  async byInputDigest(inputDigest: string): Promise<StoredBuild | undefined> {
    const row = await this.db.get<BuildRow>(
      `SELECT * FROM builds WHERE input_digest = ? AND status != 'failed' AND image_id IS NOT NULL ORDER BY id DESC LIMIT 1`,
      inputDigest,
    );
    return row && toBuild(row);
  }

  /** The service's newest build that left an image. */
  async latestForService(service: string): Promise<StoredBuild | undefined> {
    const row = await this.db.get<BuildRow>(
      `SELECT * FROM builds WHERE service = ? AND status != 'failed' AND image_id IS NOT NULL ORDER BY id DESC LIMIT 1`,
      service,
    );
    return row && toBuild(row);
  }

  /** The newest build that tagged `reference` (repository:tag) and left an image. */
  async withTag(reference: string): Promise<StoredBuild | undefined> {
    const row = await this.db.get<BuildRow>(
      `SELECT b.* FROM builds b WHERE b.status != 'failed' AND b.image_id IS NOT NULL AND ${this.db.dialect.jsonArrayHas('b.tags')} ORDER BY b.id DESC LIMIT 1`,
      reference,
    );
    return row && toBuild(row);
  }

  async forRun(runId: number): Promise<StoredBuild[]> {
    return (await this.db.all<BuildRow>(`SELECT * FROM builds WHERE run_id = ? ORDER BY id`, runId)).map(toBuild);
  }
}
