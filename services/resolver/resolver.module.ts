import { Module } from '@nestjs/common';
import { GitRepoSyncService } from './gitrepo-sync.service.js';

/** The resolver service: Git → bundles → rendered variants → per-cluster targets. */
@Module({ providers: [GitRepoSyncService] })
export class ResolverModule {}
