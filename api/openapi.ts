/**
 * The OpenAPI document at `/docs/json` (and its UI at `/docs`), generated from the zod schemas
 * the routes validate with (fastify-type-provider-zod + @fastify/swagger).
 *
 * A route whose body fastify does not validate (the streamed submission body) names its body
 * per content type in `schema.docBody`; the zod schemas there are the ones the route itself
 * validates with.
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';
import { z } from 'zod';

/** `schema.docBody`: content type → zod schema, or a JSON schema for a non-JSON body */
export type DocBody = Record<string, z.ZodType | Record<string, unknown>>;

declare module 'fastify' {
  interface FastifySchema {
    docBody?: DocBody;
    summary?: string;
    description?: string;
    tags?: readonly string[];
  }
}

const transform: typeof jsonSchemaTransform = (document) => {
  const { schema, url } = jsonSchemaTransform(document) as { schema: Record<string, unknown> & { docBody?: DocBody }; url: string };
  if (schema?.docBody) {
    const content: Record<string, { schema: unknown }> = {};
    for (const [type, body] of Object.entries(schema.docBody)) {
      content[type] = { schema: body instanceof z.ZodType ? z.toJSONSchema(body, { target: 'openapi-3.0', io: 'input' }) : body };
    }
    const { docBody: _docBody, ...rest } = schema;
    return { schema: { ...rest, body: { content } }, url };
  }
  return { schema, url };
};

export async function registerOpenApi(app: FastifyInstance, version: string): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'vigil API',
        version,
        description: 'Monitors reported child sexual abuse material URLs until removal. Errors are application/problem+json with a stable `code`.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'an API key (vgl_…) or the admin token' } } },
      security: [{ bearer: [] }],
    },
    transform,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
}
