#!/usr/bin/env node
import { Command, Option } from 'commander';
import { ConfigError, loadConfig, type Config } from '../config.js';
import { createContainer } from '../container.js';
import { createClusterService, runClusterWorker } from '../cluster-worker-runtime.js';
import { createLogger } from '../logger.js';
import { createPool, migrate } from '../repositories/database.js';
import { startServer } from '../server.js';
import { AppError } from '../services/errors.js';
import { ROLES, type Role } from '../services/auth.service.js';
import { formatAuditVerification } from './audit.js';
import { runDemo } from './demo.js';
import { runEval } from './eval.js';
import { uploadBatch } from './upload.js';
import { superviseFaceWorkers } from './worker-supervisor.js';

function config(): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`simsift: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
}

/** Runs `work` with a migrated database and a container, for one-shot admin commands. */
async function withContainer<T>(work: (container: ReturnType<typeof createContainer>) => Promise<T>): Promise<T> {
  const cfg = config();
  await migrate(cfg.databaseUrl);
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
  .showHelpAfterError();

program
  .command('serve')
  .description('run the HTTP API (migrates the database first)')
  .action(async () => {
    const cfg = config();
    const logger = createLogger(cfg);
    const server = await startServer(cfg, logger);
    logger.info({ url: server.url, docs: `${server.url}/docs` }, 'simsift API listening');
    const stop = async (signal: string) => {
      logger.info({ signal }, 'shutting down');
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
    const cfg = config();
    const processes = options.processes ? Number(options.processes) : cfg.workerProcesses;
    if (!Number.isInteger(processes) || processes < 1)
      throw new AppError(400, 'invalid_processes', '--processes must be 1 or more');
    const logger = createLogger(cfg, 'simsift-worker');
    // Migrate once here so the children do not all queue on the migration lock.
    await migrate(cfg.databaseUrl);
    const supervisor = superviseFaceWorkers(processes, logger);
    await supervisor.ready;
    // Clustering is light next to the face models: this supervising process is the cluster writer.
    const clusterWorker = await runClusterWorker(cfg, logger);
    logger.info({ processes, pids: supervisor.pids() }, 'face workers and cluster worker ready');
    const stop = async (signal: string) => {
      logger.info({ signal }, 'stopping workers after their current jobs');
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
    const result = await migrate(config().databaseUrl);
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
  .addOption(new Option('--role <role>', 'operator, analyst or admin').choices(ROLES).makeOptionMandatory())
  .option('--operator <code>', 'the operator an operator key belongs to')
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

program
  .command('upload')
  .description('upload a KYC batch to a running simsift API')
  .option('--manifest <file>', 'manifest CSV (with --photos)')
  .option('--photos <dir>', 'folder holding the photos named in the manifest')
  .option('--zip <file>', 'a zip with manifest.csv and the photos')
  .option('--url <url>', 'API base URL', process.env.SIMSIFT_URL ?? 'http://127.0.0.1:8080')
  .option('--key <key>', 'API key (or SIMSIFT_API_KEY)', process.env.SIMSIFT_API_KEY)
  .option('--operator <code>', 'operator code (admin keys only)')
  .option('--idempotency-key <key>', 'makes a retry return the same batch')
  .action(async (options: Parameters<typeof uploadBatch>[0]) => {
    const result = await uploadBatch(options);
    console.log(JSON.stringify(result.body, null, 2));
    if (result.status >= 400) process.exitCode = 1;
  });

program
  .command('recluster')
  .description('cluster every stored face again in one batch and report how far it agrees with the live clusters')
  .action(async () => {
    const cfg = config();
    await migrate(cfg.databaseUrl);
    const pool = createPool(cfg.databaseUrl, 2);
    try {
      const service = await createClusterService(cfg, pool);
      console.log(JSON.stringify(await service.compareWithRecluster()));
    } finally {
      await pool.end();
    }
  });

program
  .command('eval')
  .description('measure clustering accuracy on a labelled folder of <identity>/<image> photos')
  .requiredOption('--dataset <dir>', 'folder of <identity>/<image> photos')
  .option('--limit <n>', 'use only the first N photos')
  .addOption(new Option('--embedder <name>', 'descriptor model').choices(['face_recognition', 'faceres']))
  .option('--pair-threshold <d>', 'override the same-person threshold')
  .option('--average-threshold <d>', 'override the average-linkage threshold')
  .option('--min-support <share>', 'override the share of members a joining face must be close to')
  .option(
    '--pairs <file>',
    'also report LFW-protocol 10-fold verification accuracy on an LFW-style pairs.txt whose images are under ' +
      '--dataset (<name>/<name>_<nnnn>.jpg or <name>/<n>.jpg); a pair with a photo without a usable face counts as wrong',
  )
  .option('--json', 'print one JSON object (the default)')
  .action(
    async (options: {
      dataset: string;
      limit?: string;
      embedder?: 'face_recognition' | 'faceres';
      pairThreshold?: string;
      averageThreshold?: string;
      minSupport?: string;
      pairs?: string;
    }) => {
      const number = (value?: string) => (value === undefined ? undefined : Number(value));
      const result = await runEval(config(), {
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
  .description('run the whole pipeline on a real batch of photos and print what it found')
  .option('--dataset <dir>', 'folder of <identity>/<image> photos', '../shared/datasets/faces-dev')
  .action(async (options: { dataset: string }) => {
    await runDemo(config(), options);
  });

program.parseAsync().catch((error: unknown) => {
  if (error instanceof AppError) {
    process.stderr.write(`simsift: ${error.message} (${error.code})\n`);
  } else {
    process.stderr.write(`simsift: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  }
  process.exit(1);
});
