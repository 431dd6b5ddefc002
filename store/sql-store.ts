/**
 * The store of record over SQL: one class for PostgreSQL and embedded PostgreSQL alike — only
 * the {@link SqlClient} differs. Each operation is one named query (or a short transaction of
 * them) in the `*-queries.ts` files beside this one.
 */
import { VigilError } from '../core/errors.js';
import type {
  ApiKeyRecord, AuditEntry, DueCheck, ForceRecord, NewApiKey, NewCheck, NewForce, NewSubmission, ReportForCheck,
  ReportView, Scope, Store, SubmissionCreated, SubmissionView,
} from '../core/store.js';
import * as audit from './audit-queries.js';
import * as keys from './key-queries.js';
import { migrate } from './migrate.js';
import * as reports from './report-queries.js';
import type { SqlClient } from './sql-client.js';
import * as submissions from './submission-queries.js';

export class SqlStore implements Store {
  readonly kind: 'postgres' | 'embedded';
  /** The underlying client, for tools and tests that need SQL the port does not offer. */
  readonly sql: SqlClient;

  constructor(sql: SqlClient, kind: 'postgres' | 'embedded') {
    this.sql = sql;
    this.kind = kind;
  }

  /** @throws VigilError DB_MIGRATION_FAILED, DB_UNAVAILABLE */
  async migrate(): Promise<void> {
    await migrate(this.sql);
  }

  /** @throws VigilError DB_UNAVAILABLE */
  async ping(): Promise<void> {
    try {
      await this.sql.query('SELECT 1');
    } catch (err) {
      if (err instanceof VigilError && err.code === 'DB_UNAVAILABLE') throw err;
      throw new VigilError('DB_UNAVAILABLE', `ping failed: ${(err as Error).message}`, { cause: err });
    }
  }

  close(): Promise<void> {
    return this.sql.close();
  }

  /** @throws VigilError FORCE_EXISTS */
  createForce(force: NewForce): Promise<ForceRecord> {
    return keys.createForce(this.sql, force);
  }

  getForce(id: string): Promise<ForceRecord | null> {
    return keys.getForce(this.sql, id);
  }

  /** @throws VigilError FORCE_UNKNOWN */
  createApiKey(key: NewApiKey): Promise<ApiKeyRecord> {
    return keys.createApiKey(this.sql, key);
  }

  findApiKeyByHash(tokenHash: string): Promise<ApiKeyRecord | null> {
    return keys.findApiKeyByHash(this.sql, tokenHash);
  }

  revokeApiKey(id: string, at: Date): Promise<boolean> {
    return keys.revokeApiKey(this.sql, id, at);
  }

  /** @throws VigilError FORCE_UNKNOWN */
  createSubmission(submission: NewSubmission): Promise<SubmissionCreated> {
    return submissions.createSubmission(this.sql, submission);
  }

  getSubmission(id: string, scope: Scope): Promise<SubmissionView | null> {
    return submissions.getSubmission(this.sql, id, scope);
  }

  getReport(id: string, scope: Scope): Promise<ReportView | null> {
    return reports.getReport(this.sql, id, scope);
  }

  getReportForCheck(id: string): Promise<ReportForCheck | null> {
    return reports.getReportForCheck(this.sql, id);
  }

  /** @throws VigilError NOT_FOUND when the report does not exist */
  recordCheck(check: NewCheck): Promise<{ applied: boolean }> {
    return reports.recordCheck(this.sql, check);
  }

  claimDueChecks(now: Date, limit: number, leaseMs: number): Promise<DueCheck[]> {
    return reports.claimDueChecks(this.sql, now, limit, leaseMs);
  }

  appendAudit(entry: AuditEntry): Promise<void> {
    return audit.appendAudit(this.sql, entry);
  }

  /** Recomputes the audit hash chain (not part of the port: an operator's integrity check). */
  verifyAuditChain(): Promise<audit.AuditChainCheck> {
    return audit.verifyAuditChain(this.sql);
  }
}
