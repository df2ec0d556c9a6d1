import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { parsePageRequest } from '../../libs/db/index.js';
import {
  NotificationRuleSpecSchema,
  NotificationTargetFieldsSchema,
  checkTargetSpec,
} from '../../libs/notifications/index.js';
import { Access } from '../shared/access.decorator.js';
import { openApiSchema, parseBody } from './dto.js';
import { NotificationsService } from './notifications.service.js';

const name = z
  .string()
  .regex(
    /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/,
    'name must be a DNS-1123 label (lowercase letters, digits, -; at most 63)',
  );

/** POST /api/v1/notifications/targets */
const CreateTargetBody = NotificationTargetFieldsSchema.extend({ name }).superRefine(
  checkTargetSpec,
);
/** POST /api/v1/notifications/rules */
const CreateRuleBody = NotificationRuleSpecSchema.extend({ name });

/**
 * `/api/v1/notifications`: targets (webhooks, chat, forge commit statuses; their secrets are
 * never returned), rules, and deliveries with their dead letters. Operators write, viewers read.
 */
@ApiTags('notifications')
@Controller('api/v1/notifications')
export class NotificationsController {
  constructor(private readonly notifications: NotificationsService) {}

  @Access('operator')
  @Post('targets')
  @ApiOperation({ summary: 'Create a notification target (its secrets are stored encrypted)' })
  @ApiBody({ schema: openApiSchema(CreateTargetBody) })
  createTarget(@Body() body: unknown) {
    const { name: targetName, ...spec } = parseBody(CreateTargetBody, body);
    return this.notifications.createTarget(targetName, spec);
  }

  @Access('viewer')
  @Get('targets')
  @ApiOperation({ summary: 'List notification targets (without their secrets)' })
  listTargets(@Query('limit') limit?: string, @Query('continue') continueToken?: string) {
    return this.notifications.listTargets(parsePageRequest(limit, continueToken));
  }

  @Access('viewer')
  @Get('targets/:name')
  @ApiOperation({ summary: 'A notification target (without its secrets)' })
  getTarget(@Param('name') targetName: string) {
    return this.notifications.getTarget(targetName);
  }

  @Access('operator')
  @Delete('targets/:name')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a notification target and its deliveries' })
  async deleteTarget(@Param('name') targetName: string): Promise<void> {
    await this.notifications.deleteTarget(targetName);
  }

  @Access('operator')
  @Post('rules')
  @ApiOperation({ summary: 'Create a notification rule: which events go to which targets' })
  @ApiBody({ schema: openApiSchema(CreateRuleBody) })
  createRule(@Body() body: unknown) {
    const { name: ruleName, ...spec } = parseBody(CreateRuleBody, body);
    return this.notifications.createRule(ruleName, spec);
  }

  @Access('viewer')
  @Get('rules')
  @ApiOperation({ summary: 'List notification rules' })
  listRules(@Query('limit') limit?: string, @Query('continue') continueToken?: string) {
    return this.notifications.listRules(parsePageRequest(limit, continueToken));
  }

  @Access('viewer')
  @Get('rules/:name')
  @ApiOperation({ summary: 'A notification rule' })
  getRule(@Param('name') ruleName: string) {
    return this.notifications.getRule(ruleName);
  }

  @Access('operator')
  @Delete('rules/:name')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a notification rule' })
  async deleteRule(@Param('name') ruleName: string): Promise<void> {
    await this.notifications.deleteRule(ruleName);
  }

  @Access('viewer')
  @Get('deliveries')
  @ApiOperation({
    summary: 'Deliveries, newest first (state: Pending, Delivered, Dead, Superseded)',
  })
  listDeliveries(
    @Query('state') state?: string,
    @Query('target') target?: string,
    @Query('limit') limit?: string,
    @Query('continue') continueToken?: string,
  ) {
    return this.notifications.listDeliveries(
      { ...(state ? { state } : {}), ...(target ? { target } : {}) },
      parsePageRequest(limit, continueToken),
    );
  }

  @Access('viewer')
  @Get('dead-letters')
  @ApiOperation({ summary: 'Deliveries given up after their last attempt' })
  listDeadLetters(
    @Query('target') target?: string,
    @Query('limit') limit?: string,
    @Query('continue') continueToken?: string,
  ) {
    return this.notifications.listDeliveries(
      { state: 'Dead', ...(target ? { target } : {}) },
      parsePageRequest(limit, continueToken),
    );
  }

  @Access('operator')
  @Post('deliveries/:id/retry')
  @ApiOperation({ summary: 'Send a dead-lettered delivery again' })
  retry(@Param('id') id: string) {
    return this.notifications.retry(id);
  }
}
