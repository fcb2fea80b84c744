import { createRequire } from 'node:module';
import path from 'node:path';
import type * as FaceApi from '@vladmandic/face-api';
import type * as Tf from '@tensorflow/tfjs';
import type * as TfWasm from '@tensorflow/tfjs-backend-wasm';
import { packageDir } from './model-manifest.js';

const require = createRequire(import.meta.url);

export type TfBackend = 'tensorflow' | 'wasm' | 'cpu';
export type FaceApiModule = typeof FaceApi;
export type TfModule = typeof Tf;
type TfWasmModule = typeof TfWasm;

export interface LoadedTensorflow {
  tf: TfModule;
  backend: TfBackend;
  /** Whether the wasm backend runs with SIMD (about 3x faster than without). */
  simd: boolean;
  faceapi: FaceApiModule;
  /** Absolute path of the human library build that matches the backend. */
  humanBuild: string;
}

let loaded: Promise<LoadedTensorflow> | null = null;

/**
 * Loads TensorFlow once per process: `@tensorflow/tfjs-node` when it is installed (native, fastest), else the
 * wasm backend with SIMD. The pure-JS CPU backend is about 40x slower, so it is refused unless `allowCpu`:
 * a silent fallback would turn a 30 ms descriptor into seconds and look like a hung worker.
 */
export function loadTensorflow(options: { allowCpu: boolean }): Promise<LoadedTensorflow> {
  loaded ??= load(options);
  return loaded;
}

async function load({ allowCpu }: { allowCpu: boolean }): Promise<LoadedTensorflow> {
  const humanDir = packageDir('@vladmandic/human');
  try {
    // Optional dependency: present only where its native library could be installed.
    const tf = require('@tensorflow/tfjs-node') as TfModule;
    await tf.ready();
    if (tf.getBackend() === 'tensorflow') {
      return {
        tf,
        backend: 'tensorflow',
        simd: false,
        faceapi: require('@vladmandic/face-api/dist/face-api.node.js') as FaceApiModule,
        humanBuild: path.join(humanDir, 'dist/human.node.js'),
      };
    }
  } catch {
    // not installed or its native library is missing: use wasm
  }
  const tf = require('@tensorflow/tfjs') as TfModule;
  const wasm = require('@tensorflow/tfjs-backend-wasm') as TfWasmModule;
  wasm.setWasmPaths(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')) + '/');
  let backend: TfBackend = 'wasm';
  if (!(await tf.setBackend('wasm'))) {
    if (!allowCpu) {
      throw new Error(
        'the TensorFlow wasm backend failed to initialise and the pure-JS CPU backend (about 40x slower) is not ' +
          'allowed; install @tensorflow/tfjs-node, fix wasm, or set SIMSIFT_ALLOW_CPU_BACKEND=true',
      );
    }
    await tf.setBackend('cpu');
    backend = 'cpu';
  }
  await tf.ready();
  const simd = backend === 'wasm' ? Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) : false;
  return {
    tf,
    backend,
    simd,
    faceapi: require('@vladmandic/face-api/dist/face-api.node-wasm.js') as FaceApiModule,
    humanBuild: path.join(humanDir, 'dist/human.node-wasm.js'),
  };
}
