import { z } from 'zod';
import { objectIdSchema } from '@cohort/common';

export const USER_LOOKUP_MAX_IDS = 100;

/**
 * `GET /api/users?ids=a,b,c`: up to 100 comma-separated user ids (chat-api checks members exist, the web
 * client resolves member names). Not yet in libs/common's http-schemas (the gateway's OpenAPI source).
 */
export const userLookupQuerySchema = z.object({
  ids: z
    .string()
    .max(USER_LOOKUP_MAX_IDS * 25)
    .transform((raw) =>
      raw
        .split(',')
        .map((id) => id.trim())
        .filter((id) => id.length > 0),
    )
    .pipe(
      z
        .array(objectIdSchema)
        .min(1, 'at least one id')
        .max(USER_LOOKUP_MAX_IDS, `at most ${USER_LOOKUP_MAX_IDS} ids`),
    ),
});
