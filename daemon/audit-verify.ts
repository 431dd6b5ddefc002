/**
 * `vigil audit verify`: a local command (it needs the database, not the API). Opens the store of
 * record from the configuration, as `vigil start` does, walks the audit hash chain and names the
 * first broken row. Exit 0 when intact, 1 when broken or the database cannot be opened.
 */
import { loadConfig } from '../config/load-config.js';
import { auditChainTail, verifyAuditChain } from '../store/audit-queries.js';
import { openStore } from '../store/open-store.js';

export interface AuditVerifyResult {
  exitCode: 0 | 1;
  output: string;
}

/** @throws VigilError CONFIG_*, DB_UNAVAILABLE, DB_IN_USE (the caller prints them, exit 1) */
export async function auditVerify(options: { config?: string; env: NodeJS.ProcessEnv; cwd: string }): Promise<AuditVerifyResult> {
  const { config } = loadConfig({ file: options.config, env: options.env, cwd: options.cwd });
  const store = await openStore({ databaseUrl: config.storage.databaseUrl, dataDir: config.dataDir });
  try {
    const result = await verifyAuditChain(store.sql);
    if (!result.ok) {
      return {
        exitCode: 1,
        output: `audit chain BROKEN at row ${result.seq} (row ${result.rows} of the chain): ${result.problem}.\n` +
          'Rows from there on cannot be trusted; keep the database as it is and investigate.',
      };
    }
    const tail = await auditChainTail(store.sql);
    return {
      exitCode: 0,
      output: tail
        ? `audit chain intact: ${result.rows} rows; last row ${tail.seq} at ${tail.at.toISOString()}, hash ${tail.hash}\n` +
          '(record the last hash elsewhere: a later verify that no longer reaches it shows rows were cut from the end)'
        : 'audit chain intact: no rows yet',
    };
  } finally {
    await store.close();
  }
}
