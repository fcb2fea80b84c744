/**
 * Bench dispatcher: `npm run -s bench -- <name> [options]`.
 *
 * A bench is a file `scripts/bench/<name>.ts` (name: lower-case letters, digits, "_") exporting
 * `run(argv: string[]): Promise<object>`; it gets the arguments after its name and returns its result, which is
 * printed here as one JSON object on stdout. Progress belongs on stderr. Helpers live in `lib/`, and files with
 * a dash in their name (e.g. `upload-server.ts`, a child-process entry) are not benches.
 */
import { readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const BENCH_NAME = /^[a-z][a-z0-9_]*$/;

interface BenchModule {
  run(argv: string[]): Promise<object>;
}

async function availableBenches(): Promise<string[]> {
  const files = await readdir(BENCH_DIR, { withFileTypes: true });
  return files
    .filter((file) => file.isFile() && file.name.endsWith('.ts'))
    .map((file) => file.name.slice(0, -'.ts'.length))
    .filter((name) => name !== 'main' && BENCH_NAME.test(name))
    .sort();
}

async function main(argv: string[]): Promise<number> {
  const args = argv[0] === '--' ? argv.slice(1) : argv;
  const index = args.findIndex((arg) => !arg.startsWith('-'));
  const name = index === -1 ? undefined : args[index];
  const rest = args.filter((_arg, i) => i !== index);
  const benches = await availableBenches();
  if (name === undefined || !benches.includes(name)) {
    if (name !== undefined) process.stderr.write(`unknown bench "${name}"\n`);
    process.stderr.write(`usage: npm run -s bench -- <name> [options]\navailable benches: ${benches.join(', ')}\n`);
    return 2;
  }
  const module = (await import(pathToFileURL(path.join(BENCH_DIR, `${name}.ts`)).href)) as Partial<BenchModule>;
  if (typeof module.run !== 'function') {
    process.stderr.write(`scripts/bench/${name}.ts does not export run(argv)\n`);
    return 2;
  }
  const result = { ...(await module.run(rest)), host: await hostFacts() };
  await new Promise<void>((resolve, reject) =>
    process.stdout.write(JSON.stringify(result, null, 2) + '\n', (error) => (error ? reject(error) : resolve())),
  );
  return 0;
}

/**
 * What a figure depends on besides the code: the cores, the memory, and whether the kernel backs large
 * allocations with huge pages (Linux's transparent huge pages: "always", or only where a program asks,
 * "madvise"; usearch never asks). Graph inserts and searches are bound by memory latency, yet "always" changed
 * nothing measurable at 1M faces (preload 284 s against 293, query p50 1.06 ms against 1.15, restart 5.1 s
 * both): printed so that figures from differently set hosts are not compared unawares.
 */
async function hostFacts() {
  const setting = await readFile('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8').catch(() => '');
  return {
    cores: os.availableParallelism(),
    memory_gib: Math.round(os.totalmem() / 2 ** 30),
    transparent_hugepages: /\[(\w+)\]/.exec(setting)?.[1] ?? 'unknown',
  };
}

main(process.argv.slice(2)).then(
  // Exit explicitly: a bench's leftover handles (pools, sockets) must not keep the process alive.
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
