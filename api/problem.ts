/**
 * application/problem+json errors (RFC 9457) with vigil's stable codes (core/errors.ts).
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { ERROR_CODES, VigilError, type ErrorCode } from '../core/errors.js';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  [extra: string]: unknown;
}

export function problemOf(code: ErrorCode, detail: string, extra: Record<string, unknown> = {}): Problem {
  const { status, title } = ERROR_CODES[code];
  return { type: `https://vigil.invalid/problems/${code.toLowerCase().replace(/_/g, '-')}`, title, status, detail, code, ...extra };
}

export function sendProblem(reply: FastifyReply, code: ErrorCode, detail: string, extra?: Record<string, unknown>): FastifyReply {
  const problem = problemOf(code, detail, extra);
  return reply.code(problem.status).type('application/problem+json').send(problem);
}

/** "querystring.limit: Too big: expected number to be <=1000; …" from a schema validation error. */
function describeValidation(err: FastifyError): string {
  const where = err.validationContext ?? 'request';
  return (err.validation ?? [])
    .map((v) => `${where}${v.instancePath ? v.instancePath.replace(/\//g, '.') : ''}: ${v.message ?? 'invalid'}`)
    .join('; ');
}

/** Map fastify's own errors to stable codes; anything unknown is a logged 500. */
export function errorHandler(log: Logger) {
  return (err: FastifyError | VigilError, request: FastifyRequest, reply: FastifyReply): FastifyReply => {
    if (err instanceof VigilError) return sendProblem(reply, err.code, err.detail);
    if (Array.isArray(err.validation)) return sendProblem(reply, 'VALIDATION_FAILED', describeValidation(err));
    switch (err.code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return sendProblem(reply, 'PAYLOAD_TOO_LARGE', 'The request body is larger than the limit for this endpoint.');
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return sendProblem(reply, 'UNSUPPORTED_MEDIA_TYPE', `Content-Type ${request.headers['content-type'] ?? '(none)'} is not accepted here.`);
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
        return sendProblem(reply, 'VALIDATION_FAILED', err.message);
      default:
        break;
    }
    if (err.statusCode === 400 || err instanceof SyntaxError) {
      return sendProblem(reply, 'VALIDATION_FAILED', `The request body could not be parsed: ${err.message}`);
    }
    log.error({ err, reqId: request.id }, 'unhandled error in API request');
    return sendProblem(reply, 'INTERNAL', 'An internal error occurred; it has been logged.');
  };
}
