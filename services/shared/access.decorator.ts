import { SetMetadata } from '@nestjs/common';
import type { Access as AccessLevel } from '../../libs/auth/index.js';

export const ACCESS_KEY = 'flotilla:access';

/**
 * Who may call a REST or gRPC handler (or every handler of a controller): a role, `public`, or
 * `agent`. Handlers without it need the admin role, so a forgotten annotation fails closed.
 */
export const Access = (access: AccessLevel) => SetMetadata(ACCESS_KEY, access);
