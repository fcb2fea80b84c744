#!/usr/bin/env node
/*
 * Over 400 lines on purpose: the table of every `simsift` command and its options (commander); each command
 * only parses its options and calls a service, demo or eval module.
 */
import { writeFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import { loadConfig, type Config, type LoadConfigOptions } from '../config.js';
import { createContainer } from '../container.js';
import { runClusterWorker } from '../../workers/cluster-worker-runtime.js';
import { createLogger } from '../logger.js';
import { serveWorkerMetrics } from '../metrics/metrics-server.js';
import { WorkerMetrics } from '../metrics/worker.metrics.js';
import { exitAfter } from '../shutdown.js';
import { migrateDatabase } from '../repositories/database.js';
import { repeat } from '../repeat.js';
import { startServer } from '../server.js';
import { ROLES, type Role } from '../services/auth.service.js';
import { ApiClient } from './api-client.js';
import { formatAuditVerification } from './audit.js';
import { requireServices } from './backing-services.js';
import { runStatus } from './batch-status.js';
import { CliError, describeFailure, EXIT } from './cli-errors.js';
import { DEFAULT_FACES_DIR, runDemo } from '../demo/run-demo.js';
import { runEval } from '../eval/verification-eval.js';
import { runScenarioCli } from '../eval/scenario-command.js';
import { runCalibrate } from '../eval/calibrate.js';
import { runRecluster } from './recluster.js';
import { runReembed } from './reembed.js';
import { runExport, type ExportOptions } from './export.js';
import { formatBytes, progressBar, type ProgressBar } from './progress.js';
import { uploadBatch } from './upload.js';
import { superviseFaceWorkers } from './worker-supervisor.js';

/**
 * The validated configuration (a ConfigError exits 2), after checking the backing services it names (exit 3).
 * Only the API hashes identity documents, so only `serve` requires SIMSIFT_SECRET (and the demo generates its
 * own); every other command runs with a random key in memory, and a worker host need not hold the secret.
 */
async function config(
  needs: { postgres?: boolean; redis?: boolean; secret?: LoadConfigOptions['secret'] } = {},
): Promise<Config> {
  const cfg = loadConfig(process.env, { secret: needs.secret ?? 'ephemeral' });
  await requireServices(cfg, needs);
  return cfg;
}

/** Runs `work` with a migrated database and a container, for one-shot admin commands. */
async function withContainer<T>(work: (container: ReturnType<typeof createContainer>) => Promise<T>): Promise<T> {
  const cfg = await config({ postgres: true });
  await migrateDatabase(cfg);
  const container = createContainer(cfg, createLogger({ logLevel: 'warn' }));
  try {
    return await work(container);
  } finally {
    await container.close();
  }
}

const program = new Command()
  .name('simsift')
  .description('Find SIM-card fraud from subscriber KYC photos')
  .showHelpAfterError()
  // Throw instead of exiting, so usage errors get exit code 2 (see describeFailure); inherited by every command.
  .exitOverride()
  .addHelpText(
    'after',
    '\nExit codes: 0 ok, 1 failure or problems found, 2 usage or configuration error, 3 Postgres, Redis or the API unreachable.',
  );

/** --url and --key, for the commands that talk to a running API. */
function apiOptions(command: Command): Command {
  return command
    .option('--url <url>', 'API base URL (or SIMSIFT_URL)', process.env.SIMSIFT_URL ?? 'http://127.0.0.1:8080')
    .option('--key <key>', 'API key (or SIMSIFT_API_KEY)', process.env.SIMSIFT_API_KEY);
}

/** A positive integer option, or a usage error naming the option. */
function integerOption(name: string, value: string | undefined, min = 1): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new CliError(`${name} must be an integer of at least ${min}`, EXIT.usage);
  return n;
}

// A graceful stop that has not finished by then is not going to: BullMQ's close can wait forever on a blocking
// connection left reconnecting (taskforcesh/bullmq#4656). The API's in-flight uploads get this long to finish
// (an upload cut off leaves no batch); the workers' supervisor kills a stuck face worker after a minute.
const SERVE_STOP_DEADLINE_MS = 30_000;
const WORKER_STOP_DEADLINE_MS = 75_000;
const HEARTBEAT_MS = 10_000;

program
  .command('serve')
  .description('run the HTTP API (migrates the database first)')
  .action(async () => {
    const cfg = await config({ postgres: true, redis: true, secret: 'required' });
    const logger = createLogger(cfg);
    const server = await startServer(cfg, logger);
    logger.info(
      { url: server.url, docs: cfg.exposeDocs ? `${server.url}/docs` : 'off (SIMSIFT_EXPOSE_DOCS)' },
      'simsift API listening',
    );
    const stop = async (signal: string) => {
      logger.info({ signal }, 'shutting down');
      exitAfter(SERVE_STOP_DEADLINE_MS, logger);
      await server.close();
      process.exit(0);
    };
    process.once('SIGTERM', () => void stop('SIGTERM'));
    process.once('SIGINT', () => void stop('SIGINT'));
  });

program
  .command('worker')
  .description('run face worker processes (one model instance each, one job at a time)')
  .option('--processes <n>', 'worker processes (default: number of cores)')
  .action(async (options: { processes?: string }) => {
    const cfg = await config({ postgres: true, redis: true });
    const processes = integerOption('--processes', options.processes) ?? cfg.workerProcesses;
    // This process serves its metrics (the cluster worker's) on the port, face worker slot n on port + 1 + n.
    const metricsPort = cfg.workerMetrics.port;
    if (metricsPort > 0 && metricsPort + processes > 65535) {
      throw new CliError(
        `SIMSIFT_WORKER_METRICS_PORT ${metricsPort} leaves no room for ${processes} face workers' ports above it`,
        EXIT.usage,
      );
    }
    const logger = createLogger(cfg, 'simsift-worker');
    const metrics = new WorkerMetrics();
    await serveWorkerMetrics(cfg.workerMetrics, metrics.registry, logger);
    // Migrate once here so the children do not all queue on the migration lock.
    await migrateDatabase(cfg);
    const supervisor = superviseFaceWorkers(processes, logger, process.env, {
      metricsPort: metricsPort > 0 ? metricsPort + 1 : 0,
    });
    await supervisor.ready;
    // Clustering is light next to the face models: this supervising process is the cluster writer.
    const clusterWorker = await runClusterWorker(cfg, logger, metrics);
    logger.info({ processes, pids: supervisor.pids() }, 'face workers and cluster worker ready');
    // For a container healthcheck: touched while face workers are alive and this process's loop turns.
    const heartbeat = cfg.heartbeatFile
      ? repeat(HEARTBEAT_MS, async () => {
          if (supervisor.pids().length > 0) await writeFile(cfg.heartbeatFile!, `${Date.now()}\n`);
        })
      : null;
    const stop = async (signal: string) => {
      heartbeat?.stop();
      logger.info({ signal }, 'stopping workers after their current jobs');
      exitAfter(WORKER_STOP_DEADLINE_MS, logger);
      await Promise.all([supervisor.stop(), clusterWorker.close()]);
      process.exit(0);
    };
    process.once('SIGTERM', () => void stop('SIGTERM'));
    process.once('SIGINT', () => void stop('SIGINT'));
  });

const db = program.command('db').description('database administration');
db.command('migrate')
  .description('create the database if needed and apply pending migrations')
  .action(async () => {
    const result = await migrateDatabase(await config({ postgres: true }));
    console.log(
      result.applied.length > 0 ? `applied: ${result.applied.join(', ')}` : 'database is up to date (nothing to apply)',
    );
  });

const operators = program.command('operators').description('telecom operators (TSPs)');
operators
  .command('create <code>')
  .description('register an operator, e.g. simsift operators create JIO --name "Reliance Jio"')
  .option('--name <name>', 'display name')
  .option('--json', 'print JSON')
  .action(async (code: string, options: { name?: string; json?: boolean }) => {
    await withContainer(async (container) => {
      const { operator, created } = await container.auth.createOperator(code, options.name ?? code, 'cli', null);
      if (options.json) console.log(JSON.stringify({ ...operator, created }));
      else
        console.log(
          `${created ? 'created' : 'exists'}: operator ${operator.code} (${operator.name}), id ${operator.id}`,
        );
    });
  });
operators
  .command('list')
  .option('--json', 'print JSON')
  .action(async (options: { json?: boolean }) => {
    await withContainer(async (container) => {
      const items = await container.auth.listOperators();
      if (options.json) console.log(JSON.stringify(items));
      else for (const o of items) console.log(`${o.code}\t${o.name}`);
    });
  });

const keys = program.command('keys').description('API keys');
keys
  .command('create')
  .description('create an API key; the key is printed once and stored only as a hash')
  .addOption(
    new Option('--role <role>', 'operator, checker (pre-activation checks only), analyst or admin')
      .choices(ROLES)
      .makeOptionMandatory(),
  )
  .option('--operator <code>', 'the operator an operator or checker key belongs to')
  .option('--label <label>', 'a note to recognise the key by')
  .option('--json', 'print {"key": "...", "id": ...}')
  .action(async (options: { role: Role; operator?: string; label?: string; json?: boolean }) => {
    await withContainer(async (container) => {
      const created = await container.auth.createKey({
        role: options.role,
        operatorCode: options.operator ?? null,
        label: options.label ?? null,
        actor: 'cli',
        actorKeyId: null,
      });
      if (options.json) console.log(JSON.stringify(created));
      else
        console.log(
          `key ${created.id} (${created.role}${created.operator ? `, ${created.operator}` : ''}):\n${created.key}`,
        );
    });
  });
program
  .command('erase')
  .description(
    "erase a subscriber's personal data: every record with the number or the document, its faces, block " +
      'candidates, photos and thumbnails (the audit log keeps internal ids only)',
  )
  .option('--msisdn <number>', 'the mobile number')
  .option('--id-type <type>', 'the identity document type (aadhaar, pan, ...), with --id-number')
  .option('--id-number <number>', 'the identity document number')
  .action(async (options: { msisdn?: string; idType?: string; idNumber?: string }) => {
    // By document, the number is hashed with the API's secret: this command needs the same SIMSIFT_SECRET.
    const cfg = await config({ postgres: true, secret: 'required' });
    await migrateDatabase(cfg);
    const container = createContainer(cfg, createLogger({ logLevel: 'warn' }));
    try {
      console.log(JSON.stringify(await container.erasure.erase(options, { actor: 'cli', apiKeyId: null })));
    } finally {
      await container.close();
    }
  });

keys
  .command('revoke <id>')
  .description('revoke an API key by id')
  .action(async (id: string) => {
    await withContainer(async (container) => {
      await container.auth.revokeKey(Number(id), 'cli', null);
      console.log(`revoked key ${id}`);
    });
  });

const audit = program.command('audit').description('the tamper-evident audit trail');
audit
  .command('verify')
  .description('recompute the audit hash chain; exit 1 if any row was edited or deleted')
  .option('--json', 'print JSON')
  .action(async (options: { json?: boolean }) => {
    await withContainer(async (container) => {
      const result = await container.auditChain.verify();
      console.log(options.json ? JSON.stringify(result) : formatAuditVerification(result));
      if (!result.ok) process.exitCode = 1;
    });
  });

apiOptions(
  program
    .command('upload')
    .description('upload a KYC batch to a running simsift API (prints the batch id and per-row errors as JSON)')
    .option('--manifest <file>', 'manifest CSV (with --photos)')
    .option('--photos <dir>', 'folder holding the photos named in the manifest')
    .option('--zip <file>', 'a zip with manifest.csv and the photos'),
)
  .option('--operator <code>', 'operator code (admin keys only)')
  .option('--idempotency-key <key>', 'makes a retry return the same batch')
  .option('--no-progress', 'no progress bar')
  .action(async (options: Parameters<typeof uploadBatch>[0] & { progress: boolean }) => {
    const shown: { bar: ProgressBar | null } = { bar: null };
    const result = await uploadBatch({
      ...options,
      onProgress: options.progress
        ? (sent, total) => {
            shown.bar ??= progressBar(
              'upload',
              Math.max(1, Math.round(total / 1024)),
              'kB',
              ` of ${formatBytes(total)}`,
            );
            shown.bar.update(Math.round(sent / 1024));
          }
        : undefined,
    }).finally(() => shown.bar?.stop());
    console.log(JSON.stringify(result.body, null, 2));
    if (result.status === 401 || result.status === 403) process.exitCode = EXIT.usage;
    else if (result.status >= 400) process.exitCode = EXIT.failure;
  });

apiOptions(
  program
    .command('status <batch>')
    .description('follow a batch through the face pipeline: a progress bar until it is done, then records by state'),
)
  .option('--no-wait', 'print the current state once instead of following the batch')
  .option('--timeout <seconds>', 'give up (exit 1) after this long', '1800')
  .option('--json', 'print the batch as JSON')
  .action(
    async (batch: string, options: { url: string; key?: string; wait: boolean; timeout: string; json?: boolean }) => {
      await runStatus(new ApiClient(options.url, options.key), batch, {
        wait: options.wait,
        json: options.json ?? false,
        timeoutSeconds: integerOption('--timeout', options.timeout),
      });
    },
  );

apiOptions(
  program
    .command('export')
    .description("create an operator's block list (POST /v1/exports) and download it; analyst or admin key"),
)
  .requiredOption('--operator <code>', 'the operator whose numbers to export, e.g. JIO')
  .option('--out <file>', 'where to write it (default simsift-export-<operator>-<id>.<format>)')
  .addOption(new Option('--format <format>', 'file format').choices(['csv', 'json']).default('csv'))
  .addOption(
    new Option('--status <status>', 'decided numbers to export (default: confirmed)').choices([
      'confirmed',
      'dismissed',
    ]),
  )
  .option('--since <date-time>', 'only decisions at or after this ISO date-time')
  .option('--full', 'include numbers exported before (default: only new ones)')
  .option('--json', 'print the export record as JSON')
  .action(async (options: ExportOptions & { url: string; key?: string; json?: boolean }) => {
    const { file, export: created } = await runExport(new ApiClient(options.url, options.key), options);
    if (options.json) console.log(JSON.stringify({ ...created, file }));
    else
      console.log(
        `export ${created.id} for ${created.operator}: ${created.rowCount} numbers, ` +
          `sha256 ${options.format === 'csv' ? created.csvSha256 : created.jsonSha256}, written to ${file}`,
      );
  });

program
  .command('recluster')
  .description(
    'cluster every stored face again in one batch (honouring analyst constraints) and report its pairwise ' +
      'agreement with the live clusters; --apply replaces the live clusters with the batch result',
  )
  .option('--apply', 'replace the live clusters (changed clusters are judged again)')
  .action(async (options: { apply?: boolean }) => {
    console.log(JSON.stringify(await runRecluster(await config(), { apply: options.apply ?? false })));
  });

program
  .command('calibrate')
  .description(
    'measure an embedder on a labelled folder of <identity>/<image> photos of the population served: the ' +
      'same-person threshold at FAR 1e-3 and the face evidence the fraud rules read; --write puts them in the manifest',
  )
  .requiredOption('--dataset <dir>', 'folder of <identity>/<image> photos')
  .requiredOption('--embedder <name>', 'face_recognition, faceres or an ONNX embedder in the manifest')
  .addOption(
    new Option('--half <half>', 'the tune half of the identities (the rest stays unseen), or all')
      .choices(['tune', 'all'])
      .default('tune'),
  )
  .option('--manifest <file>', 'the model manifest to read and update (default models/manifest.json)')
  .option('--write', 'write the threshold and face evidence into the manifest')
  .action(
    async (options: {
      dataset: string;
      embedder: string;
      half: 'tune' | 'all';
      manifest?: string;
      write?: boolean;
    }) => {
      const result = await runCalibrate(await config(), {
        dataset: options.dataset,
        embedder: options.embedder,
        half: options.half,
        manifestFile: options.manifest,
        write: options.write ?? false,
      });
      console.log(JSON.stringify(result));
    },
  );

program
  .command('reembed')
  .description(
    'recompute the stored descriptors an older version of the embedder made (pipeline or weights), while the ' +
      'API and workers run (needs `simsift worker`), with a progress bar; then cluster every face again. ' +
      'Resumable: run it again to take up what is left',
  )
  .action(async () => {
    console.log(JSON.stringify(await runReembed(await config({ postgres: true, redis: true }))));
  });

program
  .command('eval')
  .description(
    'measure accuracy on a labelled folder of <identity>/<image> photos: clustering and verification, or with ' +
      '--scenario a KYC batch with planted fraud scored end to end',
  )
  .requiredOption('--dataset <dir>', 'folder of <identity>/<image> photos')
  .option('--limit <n>', 'use only the first N photos')
  .option('--embedder <name>', 'descriptor model: face_recognition, faceres or an ONNX embedder in the manifest')
  .option('--pair-threshold <d>', 'override the same-person threshold')
  .option('--average-threshold <d>', 'override the average-linkage threshold')
  .option('--min-support <share>', 'override the share of members a joining face must be close to')
  .option(
    '--pairs <file>',
    'also report LFW-protocol 10-fold verification accuracy on an LFW-style pairs.txt whose images are under ' +
      '--dataset (<name>/<name>_<nnnn>.jpg or <name>/<n>.jpg); a pair with a photo without a usable face counts as wrong',
  )
  .option(
    '--scenario',
    'plant rings, cap breaches (one and two documents), document reuse, legitimate multi-SIM subscribers and ' +
      'single-SIM strangers from different photos of each person, run the pipeline and the rules, and score them',
  )
  .addOption(
    new Option('--half <half>', 'scenario: the people of one half (choose settings on tune, report on report)')
      .choices(['tune', 'report', 'all'])
      .default('all'),
  )
  .option('--seed <n>', 'scenario: the first seed', '1')
  .option('--seeds <n>', 'scenario: how many scenarios (seeds) to add up, in process', '1')
  .option('--api <url>', 'scenario: upload through a running simsift API instead of running in process')
  .option('--key <key>', 'scenario with --api: an operator key (default: SIMSIFT_API_KEY)')
  .option('--min-precision <p>', 'scenario: exit 1 when identity-fraud precision is below this')
  .option('--min-recall <r>', 'scenario: exit 1 when identity-fraud recall is below this')
  .option('--max-legitimate-flagged <share>', 'scenario: exit 1 when more legitimate subscribers are flagged')
  .option('--json', 'print one JSON object (the default)')
  .action(
    async (options: {
      dataset: string;
      limit?: string;
      embedder?: string;
      pairThreshold?: string;
      averageThreshold?: string;
      minSupport?: string;
      pairs?: string;
      scenario?: boolean;
      half: 'tune' | 'report' | 'all';
      seed: string;
      seeds: string;
      api?: string;
      key?: string;
      minPrecision?: string;
      minRecall?: string;
      maxLegitimateFlagged?: string;
    }) => {
      const number = (value?: string) => (value === undefined ? undefined : Number(value));
      if (options.scenario) {
        const result = await runScenarioCli(await config(), {
          dataset: options.dataset,
          half: options.half,
          seed: integerOption('--seed', options.seed, 0)!,
          seeds: integerOption('--seeds', options.seeds, 1)!,
          embedder: options.embedder,
          api: options.api,
          key: options.key ?? process.env.SIMSIFT_API_KEY,
          minPrecision: number(options.minPrecision),
          minRecall: number(options.minRecall),
          maxLegitimateFlagged: number(options.maxLegitimateFlagged),
        });
        console.log(JSON.stringify(result));
        if (!result.ok) process.exitCode = EXIT.failure;
        return;
      }
      const result = await runEval(await config(), {
        dataset: options.dataset,
        limit: number(options.limit),
        embedder: options.embedder,
        pairThreshold: number(options.pairThreshold),
        averageThreshold: number(options.averageThreshold),
        minSupport: number(options.minSupport),
        pairs: options.pairs,
      });
      console.log(JSON.stringify(result));
    },
  );

program
  .command('demo')
  .description(
    'the main job end to end: a fresh <database>_demo, the API and workers, a KYC batch for three operators with ' +
      'planted fraud and traps uploaded through the API, and a report scored against the ground truth ' +
      '(exit 0 only when every planted case is found and nothing else is flagged)',
  )
  .option('--faces <dir>', 'folder of <identity>/<image> photos of different people', DEFAULT_FACES_DIR)
  .addOption(new Option('--dataset <dir>', 'same as --faces').hideHelp())
  .option('--seed <n>', 'builds a different (but reproducible) batch', '1')
  .option('--port <n>', 'API port (default: any free port)', '0')
  .option('--keep-running', 'leave the API and workers up after the report, to open the review UI (Ctrl+C stops)')
  .action(async (options: { faces: string; dataset?: string; seed: string; port: string; keepRunning?: boolean }) => {
    // The demo's own database and data dir: it keeps a generated secret there, like a development setup.
    const cfg = await config({ postgres: true, redis: true, secret: 'generated' });
    process.exitCode = await runDemo(cfg, {
      faces: options.dataset ?? options.faces,
      seed: integerOption('--seed', options.seed, 0)!,
      port: integerOption('--port', options.port, 0)!,
      keepRunning: options.keepRunning ?? false,
    });
  });

program.parseAsync().then(
  // Commands that start servers or workers keep running on their own handles; one-shot commands end here.
  () => undefined,
  (error: unknown) => {
    const { exitCode, message } = describeFailure(error);
    if (message) process.stderr.write(`simsift: ${message}\n`);
    process.exit(exitCode);
  },
);
