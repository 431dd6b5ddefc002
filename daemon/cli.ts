/**
 * `vigil` — the command line (CONTRACT.md §2). `start` runs the daemon; `config` checks and
 * prints configuration locally; every other subcommand is a client of the HTTP API.
 * Exit codes: 0 success, 1 a failure the user can fix (the message says how), 2 usage errors.
 */
import { Command, CommanderError, Option } from 'commander';
import { CliError } from '../api/cli/api-client.js';
import { forcesAddCommand, keysCreateCommand, reportCommand, statusCommand, submitCommand, type Output } from '../api/cli/client-commands.js';
import { clientSettings, runtimeEnv } from '../config/client-settings.js';
import { configCheck, configPrint } from '../config/config-commands.js';
import { loadConfig } from '../config/load-config.js';
import { isVigilError } from '../core/errors.js';
import { auditVerify } from './audit-verify.js';
import { createLogger } from './logger.js';
import { startDaemon, type Role, type RunningDaemon } from './start-daemon.js';

const io: Output = {
  out: (line) => process.stdout.write(`${line}\n`),
  progress: (text) => { if (process.stderr.isTTY || text === '\n') process.stderr.write(text); },
};

/**
 * BullMQ closes a Redis connection still connecting and then reports its failed start as an
 * `error` event on an emitter it has already removed every listener from: an unhandled rejection
 * that would crash a process in the middle of its orderly stop (seen in the fault series, 1
 * SIGTERM in ~75). During a stop that one error means nothing; anything else still crashes.
 */
function ignoreClosedConnectionsWhileStopping(log: ReturnType<typeof createLogger>): void {
  process.on('unhandledRejection', (reason) => {
    if (reason instanceof Error && reason.message === 'Connection is closed.') {
      log.warn({ err: reason }, 'a Redis connection closed while starting, during the stop; ignored');
      return;
    }
    throw reason;
  });
}

async function runStart(options: { role: Role; config?: string }): Promise<void> {
  const runtime = runtimeEnv(process.env);
  const log = createLogger({ level: runtime.logLevel });
  let running: RunningDaemon | undefined;
  let pending: NodeJS.Signals | undefined;
  let signals = 0;
  const stop = (daemon: RunningDaemon, signal: NodeJS.Signals): void => {
    ignoreClosedConnectionsWhileStopping(log);
    void daemon.stop(signal).then(({ clean }) => {
      log.flush();
      process.exitCode = clean ? 0 : 1;
      // Anything still holding the event loop open after an orderly stop is a bug; do not hang.
      setTimeout(() => process.exit(process.exitCode), 2000).unref();
    });
  };
  // Installed before the start, so a signal during it stops the daemon once it is up (an orderly
  // stop) instead of killing it half-started.
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) {
      log.warn({ signal }, 'second signal: exiting now');
      log.flush();
      process.exit(1);
    }
    if (running) stop(running, signal);
    else pending = signal;
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    const { config, source } = loadConfig({ file: options.config, env: process.env, cwd: process.cwd() });
    log.info({ config: source ?? '(defaults)' }, 'configuration loaded');
    running = await startDaemon({ config, role: options.role, log, chromiumEnvPath: runtime.chromiumPath });
  } catch (err) {
    if (isVigilError(err)) {
      log.fatal({ code: err.code }, err.detail);
      log.flush();
      process.stderr.write(`vigil: cannot start: ${err.detail}\n`);
      process.exitCode = 1;
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      return;
    }
    throw err;
  }
  if (pending) stop(running, pending);
}

function program(): Command {
  const settings = () => clientSettings(process.env);
  const cmd = new Command('vigil')
    .description('Monitor reported abuse-material URLs until removal: check, trace, notify.')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  cmd.command('start')
    .description('run the daemon')
    .addOption(new Option('--role <role>', 'which parts to run').choices(['all', 'api', 'worker', 'scheduler']).default('all'))
    .option('--config <file>', 'configuration file (else VIGIL_CONFIG, else ./vigil.yaml, else defaults)')
    .action((opts: { role: Role; config?: string }) => runStart(opts));

  const config = cmd.command('config').description('check or print configuration');
  config.command('check <file>').description('validate a configuration file').action((file: string) => {
    const r = configCheck(file, process.env, process.cwd());
    (r.exitCode === 0 ? process.stdout : process.stderr).write(`${r.output}\n`);
    process.exitCode = r.exitCode;
  });
  config.command('print').description('print the effective configuration, secrets masked')
    .option('--config <file>', 'configuration file')
    .action((opts: { config?: string }) => {
      const r = configPrint({ file: opts.config, env: process.env, cwd: process.cwd() });
      (r.exitCode === 0 ? process.stdout : process.stderr).write(`${r.output}\n`);
      process.exitCode = r.exitCode;
    });

  cmd.command('audit').description('the audit trail').command('verify')
    .description('walk the audit hash chain in the database and report the first broken link (local: needs database access)')
    .option('--config <file>', 'configuration file (else VIGIL_CONFIG, else ./vigil.yaml, else defaults)')
    .action(async (opts: { config?: string }) => {
      const r = await auditVerify({ config: opts.config, env: process.env, cwd: process.cwd() });
      (r.exitCode === 0 ? process.stdout : process.stderr).write(`${r.output}\n`);
      process.exitCode = r.exitCode;
    });

  cmd.command('submit <file>').description('submit a URL list (CSV with a url column, or one URL a line)')
    .option('--reference <ref>', 'your case reference')
    .option('--force <id>', 'submit for this force (admin tokens only)')
    .option('--idempotency-key <key>', 'reuse the key of an earlier attempt (default: a new one per run)')
    .action((file: string, opts: { reference?: string; force?: string; idempotencyKey?: string }) => submitCommand(settings(), file, opts, io));
  cmd.command('status [submission]').description('daemon readiness, or one submission\'s progress')
    .action((submission: string | undefined) => statusCommand(settings(), submission, io));
  cmd.command('report <id>').description('one report with its checks, traces and notices')
    .option('--json', 'print the API\'s JSON')
    .action((id: string, opts: { json?: boolean }) => reportCommand(settings(), id, opts, io));
  cmd.command('forces').description('police forces').command('add <id> <name>').description('add a police force')
    .action((id: string, name: string) => forcesAddCommand(settings(), id, name, io));
  cmd.command('keys').description('API keys').command('create').description('create an API key (token shown once)')
    .addOption(new Option('--role <role>', 'role of the key').choices(['admin', 'analyst', 'force', 'recipient']).makeOptionMandatory())
    .option('--force <id>', 'the force (role force)')
    .option('--recipient <id>', 'the directory recipient (role recipient)')
    .option('--label <text>', 'a label to recognise the key by')
    .option('--expires-at <time>', 'ISO 8601 time after which the key stops working, e.g. 2031-01-01T00:00:00Z')
    .action((opts: { role: string; force?: string; recipient?: string; label?: string; expiresAt?: string }) => keysCreateCommand(settings(), opts, io));
  return cmd;
}

try {
  await program().parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // help asked for (`--help`, `vigil help`) is a success; help shown because a subcommand is
    // missing (`vigil`, `vigil keys`: commander's own exit code 1) is a usage error (CONTRACT.md §2)
    const asked = err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || (err.code === 'commander.help' && err.exitCode === 0);
    process.exitCode = asked ? 0 : 2;
  } else if (err instanceof CliError) {
    process.stderr.write(`vigil: ${err.message}\n`);
    process.exitCode = err.exitCode;
  } else if (isVigilError(err)) {
    process.stderr.write(`vigil: ${err.detail}\n`);
    process.exitCode = 1;
  } else {
    process.stderr.write(`vigil: unexpected error: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  }
}
