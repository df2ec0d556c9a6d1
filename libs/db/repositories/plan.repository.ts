import type { DataSource } from 'typeorm';
import { PlanEntity } from '../entities/plan.entity.js';
import { NotFoundError } from '../errors.js';

/** Plans kept per GitRepo; older ones are dropped when a new one is stored. */
export const PLANS_KEPT_PER_GITREPO = 200;

const SHA = /^[0-9a-f]{40}$/;

/** Stored plans: written by the resolver, read by the API by id or by commit. */
export class PlanRepository {
  constructor(private readonly ds: DataSource) {}

  /** Stores a plan and drops the GitRepo's plans beyond the newest `PLANS_KEPT_PER_GITREPO`. */
  async save(plan: Omit<PlanEntity, 'createdAt' | 'repo'>): Promise<PlanEntity> {
    return this.ds.transaction(async (m) => {
      const rows: PlanEntity[] = await m.query(
        `INSERT INTO plans (id, gitrepo, commit, branch, revision, trigger, summary, result)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         RETURNING id, gitrepo, commit, branch, revision, trigger, created_at AS "createdAt",
                   summary, result`,
        [
          plan.id,
          plan.gitrepo,
          plan.commit,
          plan.branch,
          plan.revision,
          plan.trigger,
          JSON.stringify(plan.summary),
          JSON.stringify(plan.result),
        ],
      );
      await m.query(
        `DELETE FROM plans WHERE gitrepo = $1 AND id NOT IN (
           SELECT id FROM plans WHERE gitrepo = $1 ORDER BY created_at DESC, id LIMIT $2)`,
        [plan.gitrepo, PLANS_KEPT_PER_GITREPO],
      );
      const row = rows[0];
      if (row === undefined) throw new Error('plan not stored');
      return row;
    });
  }

  /**
   * A plan by its id, or the newest plan of a commit when `idOrCommit` is a full commit sha.
   * @throws NotFoundError when there is none
   */
  async get(idOrCommit: string): Promise<PlanEntity> {
    const key = idOrCommit.trim().toLowerCase();
    const repo = this.ds.getRepository(PlanEntity);
    const row = SHA.test(key)
      ? await repo.findOne({ where: { commit: key }, order: { createdAt: 'DESC', id: 'ASC' } })
      : /^[0-9a-f-]{36}$/.test(key)
        ? await repo.findOneBy({ id: key })
        : null;
    if (row === null) throw new NotFoundError(`plan "${idOrCommit}" not found`);
    return row;
  }
}
