import type { Config } from '../config.js';
import { FaceEngine, type EmbedderName } from '../repositories/face-engine/face-engine.repository.js';
import { readModelManifest } from '../repositories/face-engine/model-manifest.js';
import { runScenarioEval, runScenarioOverApi } from './scenario-eval.js';
import { addCounts, summarise } from './scenario-score.js';
import { CliError, EXIT } from '../cli/cli-errors.js';

export interface ScenarioCliOptions {
  dataset: string;
  half: 'tune' | 'report' | 'all';
  seed: number;
  seeds: number;
  embedder?: EmbedderName;
  api?: string;
  key?: string;
  /** Floors the run must meet, or the command exits 1 (the CI smoke test). */
  minPrecision?: number;
  minRecall?: number;
  maxLegitimateFlagged?: number;
}

/**
 * `simsift eval --scenario`: the KYC scenario evaluation, in process over `--seeds` scenarios (seed, seed+1,
 * ...), their counts added up, or one scenario through a running API with `--api`. Prints one JSON object;
 * `ok` is false (exit 1) when a floor given on the command line is not met.
 */
export async function runScenarioCli(config: Config, options: ScenarioCliOptions) {
  let result: Record<string, unknown> & ReturnType<typeof summarise>;
  if (options.api) {
    if (!options.key) throw new CliError('--api needs --key (an operator key; or set SIMSIFT_API_KEY)', EXIT.usage);
    result = await runScenarioOverApi({ ...options, url: options.api, key: options.key });
  } else {
    const embedderName = options.embedder ?? config.faces.embedder;
    const manifest = await readModelManifest();
    const calibration = manifest.models.find((model) => model.name === embedderName)?.faceEvidence;
    if (!calibration) throw new CliError(`models/manifest.json has no faceEvidence for ${embedderName}`, EXIT.usage);
    const engine = await FaceEngine.create({ embedder: embedderName, allowCpuBackend: config.faces.allowCpuBackend });
    const runs = [];
    for (let i = 0; i < options.seeds; i++) {
      runs.push(await runScenarioEval(config, calibration, { ...options, seed: options.seed + i, engine }));
    }
    const { counts: _counts, per_kind: _perKind, cases: _cases, ...first } = runs[0]!;
    result = {
      ...first,
      seeds: runs.map((run) => run.seed),
      ...summarise(addCounts(runs.map((run) => run.counts))),
      per_seed: runs.map((run) => ({
        seed: run.seed,
        identity_fraud: run.identity_fraud,
        cap_breach: run.cap_breach,
        legitimate_share_flagged: run.legitimate.share_flagged,
        queue_top_precision: run.queue.top_precision,
      })),
      cases: runs[0]!.cases,
      per_kind: runs[0]!.per_kind,
    };
  }
  const failures: string[] = [];
  const { identity_fraud: identity, legitimate } = result;
  if (options.minPrecision !== undefined && (identity.precision ?? 1) < options.minPrecision)
    failures.push(`identity-fraud precision ${identity.precision} < ${options.minPrecision}`);
  if (options.minRecall !== undefined && (identity.recall ?? 0) < options.minRecall)
    failures.push(`identity-fraud recall ${identity.recall} < ${options.minRecall}`);
  if (options.maxLegitimateFlagged !== undefined && (legitimate.share_flagged ?? 0) > options.maxLegitimateFlagged)
    failures.push(`legitimate subscribers flagged ${legitimate.share_flagged} > ${options.maxLegitimateFlagged}`);
  return { ...result, ok: failures.length === 0, failures };
}
