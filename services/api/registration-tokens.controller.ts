import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CreateRegistrationTokenBody, openApiSchema, parseBody } from './dto.js';
import { RegistrationTokensService } from './registration-tokens.service.js';
import { Access } from '../shared/access.decorator.js';

/** `/api/v1/registration-tokens`: tokens agents use to register themselves. */
@ApiTags('registration-tokens')
@Access('admin')
@Controller('api/v1/registration-tokens')
export class RegistrationTokensController {
  constructor(private readonly tokens: RegistrationTokensService) {}

  @Post()
  @ApiOperation({ summary: 'Create a registration token (the token is shown once)' })
  @ApiBody({ schema: openApiSchema(CreateRegistrationTokenBody) })
  create(@Body() body: unknown) {
    return this.tokens.create(parseBody(CreateRegistrationTokenBody, body));
  }

  @Get()
  @ApiOperation({ summary: 'List registration tokens (without their secrets)' })
  list() {
    return this.tokens.list();
  }

  @Delete(':id')
  @HttpCode(204)
  async delete(@Param('id') id: string): Promise<void> {
    await this.tokens.delete(id);
  }
}
