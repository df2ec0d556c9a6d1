import {
  Body,
  Controller,
  Get,
  HttpCode,
  HttpException,
  Inject,
  Param,
  Post,
  Query,
  ServiceUnavailableException,
} from '@nestjs/common';
import { ApiBody, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { NatsConnection } from '@nats-io/transport-node';
import { z } from 'zod';
import type { Subjects } from '../../libs/contracts/index.js';
import {
  InvalidInputError,
  type RolloutEntity,
  RolloutRepository,
  parsePageRequest,
} from '../../libs/db/index.js';
import { parseJson } from '../../libs/nats/index.js';
import type { RolloutRecord } from '../../libs/rollouts/index.js';
import { NATS_CONNECTION, SUBJECTS } from '../shared/tokens.js';
import { openApiSchema } from './dto.js';

const ACTIONS = ['pause', 'resume', 'promote', 'abort', 'rollback'] as const;
const ActionBody = z.strictObject({ reason: z.string().max(500).optional() });

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());

/** A rollout as the API shows it: stages with their clusters, failures, timestamps. */
export function rolloutView(r: RolloutEntity) {
  const record = r.record as unknown as RolloutRecord;
  const cluster = (name: string) => {
    const c = record.clusters[name];
    return {
      name,
      state: c?.state ?? 'Waiting',
      ...(c?.reason ? { reason: c.reason } : {}),
      releasedAt: iso(c?.releasedAt),
      readySince: iso(c?.readySince),
    };
  };
  return {
    id: r.id,
    bundle: r.bundle,
    fromCommit: r.fromCommit,
    toCommit: r.toCommit,
    state: r.state,
    reason: r.reason,
    failures: record.failures,
    createdAt: r.createdAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
    finishedAt: r.finishedAt?.toISOString() ?? null,
    stages: record.stages.map((s) => ({
      name: s.name,
      state: s.state,
      approved: s.approved,
      startedAt: iso(s.startedAt),
      bakedSince: iso(s.bakedSince),
      clusters: s.clusters.map(cluster),
    })),
    unmatched: Object.entries(record.clusters)
      .filter(([, c]) => c.state === 'Skipped')
      .map(([name]) => name)
      .sort(),
  };
}

/** `/api/v1/rollouts`: staged rollouts, and the operator actions on them. */
@ApiTags('rollouts')
@Controller('api/v1/rollouts')
export class RolloutsController {
  constructor(
    private readonly rollouts: RolloutRepository,
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(SUBJECTS) private readonly subjects: Subjects,
  ) {}

  @Get()
  @ApiOperation({ summary: 'List rollouts, newest first' })
  @ApiQuery({ name: 'bundle', required: false })
  @ApiQuery({ name: 'state', required: false })
  async list(
    @Query('bundle') bundle?: string,
    @Query('state') state?: string,
    @Query('limit') limit?: string,
    @Query('continue') token?: string,
  ) {
    const page = await this.rollouts.list(
      { bundle: bundle || undefined, state: state || undefined },
      parsePageRequest(limit, token),
    );
    return { ...page, items: page.items.map(rolloutView) };
  }

  @Get(':id')
  @ApiOperation({ summary: 'A rollout with its stages, per-cluster states and audit trail' })
  async get(@Param('id') id: string) {
    const rollout = await this.rollouts.get(id);
    const audit = await this.rollouts.auditTrail(id);
    return {
      ...rolloutView(rollout),
      audit: audit.map((a) => ({
        at: a.at.toISOString(),
        actor: a.actor,
        action: a.action,
        from: a.fromState,
        to: a.toState,
        ...a.detail,
      })),
    };
  }

  @Post(':id/:action')
  @HttpCode(200)
  @ApiOperation({ summary: 'pause | resume | promote (pass the current gate) | abort | rollback' })
  @ApiBody({ schema: openApiSchema(ActionBody), required: false })
  async act(@Param('id') id: string, @Param('action') action: string, @Body() body: unknown) {
    if (!(ACTIONS as readonly string[]).includes(action)) {
      throw new InvalidInputError(`unknown action "${action}"; use one of ${ACTIONS.join(', ')}`);
    }
    const { reason } = ActionBody.parse(body ?? {});
    await this.rollouts.get(id);
    let answer: { status?: number; message?: string };
    try {
      const msg = await this.nc.request(
        this.subjects.control('rollouts'),
        JSON.stringify({ rollout: id, action, by: 'api', reason }),
        { timeout: 10_000 },
      );
      answer = parseJson(msg.data) ?? {};
    } catch {
      throw new ServiceUnavailableException('the rollouts service did not answer; is it running?');
    }
    if (answer.status !== 200)
      throw new HttpException(answer.message ?? 'action refused', answer.status ?? 500);
    return rolloutView(await this.rollouts.get(id));
  }
}
