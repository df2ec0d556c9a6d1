import { Module } from '@nestjs/common';
import { GitRepoSyncService } from './gitrepo-sync.service.js';
import { PlanService } from './plan.service.js';

/** The resolver service: Git → bundles → rendered variants → per-cluster targets; and plans. */
@Module({ providers: [GitRepoSyncService, PlanService] })
export class ResolverModule {}
