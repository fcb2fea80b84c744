import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type * as Tf from '@tensorflow/tfjs';
import {
  embedderVersion,
  ModelIntegrityError,
  packageDir,
  readModelManifest,
  verifyModelFiles,
  type ModelEntry,
  type ModelManifest,
} from './model-manifest.js';
import {
  convertFaceApiNets,
  runConverted,
  tensorflowNets,
  type ConvertedNet,
  type NetRuntime,
} from './converted-nets.js';
import { BlazeFaceDetector, type HumanBlazeFaceModel } from './blazeface-detector.js';
import { humanConfig } from './human-config.js';
import { cropFaceTensor, PixelBuffer, type FaceRegion } from './photo-tensors.js';
import { OnnxEmbedder } from './onnx-embedder.repository.js';
import { unitLength } from '../../services/face-distance.js';
import { loadTensorflow, type FaceApiModule, type TfBackend, type TfModule } from './tensorflow.js';
type Tensor3D = Tf.Tensor3D;

const require = createRequire(import.meta.url);

/** 8-bit RGB pixels, row-major, 3 bytes a pixel. */
export interface RgbImage {
  data: Buffer;
  width: number;
  height: number;
}

export interface FaceBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface Point {
  x: number;
  y: number;
}

export type DetectorName = 'blazeface' | 'ssd_mobilenetv1';
/** The built-in embedders, or the name of an ONNX model declared in models/manifest.json. */
export type EmbedderName = 'face_recognition' | 'faceres' | (string & {});

export interface DetectedFace {
  box: FaceBox;
  score: number;
  detector: DetectorName;
}

/** A face descriptor model: distances between its vectors say whether two faces are one person. */
export interface EmbedderInfo {
  name: EmbedderName;
  /** Package version of the weights, stored with every embedding. */
  version: string;
  length: number;
  metric: 'euclidean' | 'cosine';
  samePersonThreshold: number;
}

/** One decoded photo held as a tensor while the models look at it; released by {@link FaceEngine.withImage}. */
export interface EngineImage {
  readonly width: number;
  readonly height: number;
  detectBlazeFace(minScore: number): Promise<DetectedFace[]>;
  detectSsd(minScore: number): Promise<DetectedFace[]>;
  /** 68-point landmarks of a detected face, in image coordinates. */
  landmarks(face: DetectedFace): Promise<Point[]>;
  /** The descriptor of the face with these landmarks, or null when the embedder finds no face there. */
  describe(face: DetectedFace, landmarks: Point[]): Promise<Float32Array | null>;
}

export interface FaceEngineOptions {
  embedder: EmbedderName;
  allowCpuBackend: boolean;
  /** The model manifest to use instead of models/manifest.json (tests, and `simsift calibrate` on a copy). */
  manifest?: ModelManifest;
  /**
   * Where BlazeFace's net and face-api's landmark and descriptor nets run: onnxruntime by default (each where it
   * loads and matches tfjs), tensorflow to compare against the reference.
   */
  netRuntime?: NetRuntime['runtime'];
}

interface HumanFace {
  box: [number, number, number, number];
  score: number;
  boxScore?: number;
  embedding?: number[];
}
interface HumanInstance {
  load(): Promise<void>;
  detect(input: Tf.Tensor): Promise<{ face: HumanFace[]; error?: string | null }>;
  /** Loaded models by name (human 3.x); the BlazeFace converter reads its detector from here. */
  models?: { models?: { blazeface?: HumanBlazeFaceModel | null } };
}
type HumanConstructor = new (config: Record<string, unknown>) => HumanInstance;

/**
 * The face models of one worker process: BlazeFace (from @vladmandic/human) finds faces, face-api's SSD is
 * the fallback detector, face-api's 68-point net gives landmarks, and the configured embedder gives the
 * descriptor. Weights come from the installed npm packages and are checked against models/manifest.json.
 */
export class FaceEngine {
  private constructor(
    private readonly tf: TfModule,
    private readonly faceapi: FaceApiModule,
    private readonly detector: HumanInstance,
    private readonly blazeFace: { detector: BlazeFaceDetector | null; runtime: NetRuntime },
    private readonly describer: HumanInstance | null,
    private readonly onnx: OnnxEmbedder | null,
    private readonly nets: { landmarks: ConvertedNet; descriptor: ConvertedNet | null },
    readonly backend: TfBackend,
    readonly simd: boolean,
    readonly embedder: EmbedderInfo,
  ) {}

  static async create(options: FaceEngineOptions): Promise<FaceEngine> {
    const manifest = options.manifest ?? (await readModelManifest());
    const needed = ['blazeface', 'ssd_mobilenetv1', 'face_landmark_68', options.embedder];
    const entries = await verifyModelFiles(manifest, needed);
    const embedderEntry = entries.find((entry) => entry.name === options.embedder)!;
    if (embedderEntry.role !== 'embedder') {
      throw new ModelIntegrityError(`models/manifest.json: "${options.embedder}" is not an embedder`);
    }
    const onnx = embedderEntry.onnx ? await OnnxEmbedder.load(embedderEntry.onnx) : null;
    const { tf, faceapi, backend, simd, humanBuild } = await loadTensorflow({ allowCpu: options.allowCpuBackend });
    registerFileLoader(tf);

    const faceApiModels = path.join(packageDir('@vladmandic/face-api'), 'model');
    await faceapi.nets.ssdMobilenetv1.loadFromDisk(faceApiModels);
    await faceapi.nets.faceLandmark68Net.loadFromDisk(faceApiModels);
    const describes = options.embedder === 'face_recognition';
    if (describes) await faceapi.nets.faceRecognitionNet.loadFromDisk(faceApiModels);
    const nets =
      options.netRuntime === 'tensorflow'
        ? tensorflowNets(describes)
        : await convertFaceApiNets(tf, faceapi, { descriptor: describes });

    const { Human } = require(humanBuild) as { Human: HumanConstructor };
    const humanModels = `file://${path.join(packageDir('@vladmandic/human'), 'models')}/`;
    const detectorConfig = humanConfig(backend, humanModels, { describe: false });
    const detector = new Human(detectorConfig);
    await detector.load();
    const blazeFace =
      options.netRuntime === 'tensorflow'
        ? { detector: null, runtime: { runtime: 'tensorflow' as const, reason: 'requested' } }
        : await BlazeFaceDetector.create(
            tf,
            detector.models?.models?.blazeface ?? undefined,
            path.join(packageDir('@vladmandic/human'), 'models'),
            detectorConfig.face.detector,
          );
    let describer: HumanInstance | null = null;
    if (options.embedder === 'faceres') {
      describer = new Human(humanConfig(backend, humanModels, { describe: true }));
      await describer.load();
    }
    return new FaceEngine(
      tf,
      faceapi,
      detector,
      blazeFace,
      describer,
      onnx,
      nets,
      backend,
      simd,
      embedderInfo(embedderEntry),
    );
  }

  /**
   * Runs the per-photo models once on a blank image: the first inference of each compiles its wasm kernels (about a
   * second), which would otherwise land on the first real photo.
   */
  async warmUp(): Promise<void> {
    const size = 160;
    const blank: RgbImage = { data: Buffer.alloc(size * size * 3, 128), width: size, height: size };
    const face: DetectedFace = { box: { x: 30, y: 30, width: 100, height: 100 }, score: 1, detector: 'blazeface' };
    // Not the SSD fallback: it runs on few photos and its working memory (~145 MB) would stay for good.
    await this.withImage(blank, async (image) => {
      await image.detectBlazeFace(0.5);
      await image.describe(face, await image.landmarks(face));
    });
  }

  /** Where BlazeFace's net, face-api's landmark net and (for face_recognition) its descriptor net run. */
  get netRuntimes(): { detector: NetRuntime; landmarks: NetRuntime; descriptor: NetRuntime | null } {
    return {
      detector: this.blazeFace.runtime,
      landmarks: this.nets.landmarks.runtime,
      descriptor: this.nets.descriptor?.runtime ?? null,
    };
  }

  /** Live tensors: flat across photos when nothing leaks. */
  tensorCount(): number {
    return this.tf.memory().numTensors;
  }

  private readonly pixels = new PixelBuffer();

  /** Runs `work` with the photo loaded as a tensor; every tensor made meanwhile is released afterwards. */
  async withImage<T>(image: RgbImage, work: (image: EngineImage) => Promise<T>): Promise<T> {
    const { tf, faceapi, detector, blazeFace, describer, onnx, nets, embedder } = this;
    tf.engine().startScope();
    try {
      const tensor = tf.tensor3d(this.pixels.int32(image.data), [image.height, image.width, 3], 'int32');
      // face-api's bundled tfjs types differ from @tensorflow/tfjs's; the runtime objects are the same.
      const faceApiTensor = tensor as unknown as Parameters<FaceApiModule['extractFaceTensors']>[0];
      const faceTensor = (region: FaceRegion) => cropFaceTensor(tf, image, region);
      const engineImage: EngineImage = {
        width: image.width,
        height: image.height,
        async detectBlazeFace(minScore) {
          const found = blazeFace.detector
            ? await blazeFace.detector.detect(tensor)
            : (await detector.detect(tensor)).face;
          return found
            .map((face: { box: [number, number, number, number]; boxScore?: number; score?: number }) => ({
              box: { x: face.box[0], y: face.box[1], width: face.box[2], height: face.box[3] },
              score: face.boxScore ?? face.score ?? 0,
              detector: 'blazeface' as const,
            }))
            .filter((face) => face.score >= minScore && face.box.width > 0 && face.box.height > 0);
        },
        async detectSsd(minScore) {
          const found = await faceapi.detectAllFaces(
            faceApiTensor,
            new faceapi.SsdMobilenetv1Options({ minConfidence: minScore, maxResults: 20 }),
          );
          return found.map((detection) => ({
            box: { x: detection.box.x, y: detection.box.y, width: detection.box.width, height: detection.box.height },
            score: detection.score,
            detector: 'ssd_mobilenetv1' as const,
          }));
        },
        async landmarks(detected) {
          // BlazeFace's raw square box, as is: measured on the dev set, reshaping it towards SSD's narrower box
          // (0.75-0.85 of the width) lowered TAR at FAR 1e-3 from 0.815 to 0.78-0.80.
          const box = detected.box;
          const face = faceTensor(new faceapi.Rect(box.x, box.y, box.width, box.height));
          const network = faceapi.nets.faceLandmark68Net;
          if (!nets.landmarks.session) {
            const result = await network.detectLandmarks(face);
            const landmarks = Array.isArray(result) ? result[0]! : result;
            return landmarks.shiftBy(box.x, box.y).positions.map((p) => ({ x: p.x, y: p.y }));
          }
          // As detectLandmarks does it, with the net on onnxruntime: face-api's postProcess maps the raw output
          // from the padded square chip to the face crop (relative), which then scales to the crop's pixels.
          const chip = await faceapi.toNetInput(face);
          const raw = await runConverted(tf, nets.landmarks, chip);
          const width = chip.getInputWidth(0);
          const height = chip.getInputHeight(0);
          const relative = network
            .postProcess(tf.tensor2d(raw, [1, raw.length]) as never, nets.landmarks.chipSize, [{ width, height }])
            .dataSync();
          return Array.from({ length: relative.length / 2 }, (_, i) => ({
            x: relative[2 * i]! * width + box.x,
            y: relative[2 * i + 1]! * height + box.y,
          }));
        },
        async describe(face, points) {
          // A licensed ArcFace-class model: its own 5-point aligned 112x112 chip from the 68 landmarks.
          if (onnx) return onnx.describe(image, points);
          if (embedder.name === 'face_recognition') {
            const landmarks = new faceapi.FaceLandmarks68(
              points.map((p) => new faceapi.Point(p.x / image.width, p.y / image.height)),
              { width: image.width, height: image.height },
            );
            // dlib-style alignment, not face-api's default (the landmarks' bounding box padded by 0.2). On the dev set
            // (`simsift eval`) the default gave TAR at FAR 1e-3 0.75 against 0.81 for this one.
            const aligned = landmarks.align(null, { useDlibAlignment: true });
            const alignedFace = faceTensor(aligned);
            // The face and its mirror image in one batch, averaged, then scaled to unit length. On faces-dev (518
            // photos) TAR at FAR 1e-4 went 0.811 -> 0.854 (mirror) -> 0.878 (and unit length); a similarity-rotated
            // chip instead of this box did worse (0.853 with both).
            const mirrored = tf.reverse(alignedFace as unknown as Tensor3D, 1) as unknown as typeof alignedFace;
            const chips = await faceapi.toNetInput([alignedFace, mirrored] as never);
            const both = nets.descriptor?.session
              ? await runConverted(tf, nets.descriptor, chips)
              : ((await faceapi.nets.faceRecognitionNet.forwardInput(chips).data()) as Float32Array);
            const length = embedder.length;
            return unitLength(Float32Array.from({ length }, (_, i) => (both[i]! + both[length + i]!) / 2));
          }
          // faceres works on human's own mesh-aligned crop: run its pipeline on a margin around the subject.
          const margin = 0.4;
          const x = Math.max(0, Math.floor(face.box.x - face.box.width * margin));
          const y = Math.max(0, Math.floor(face.box.y - face.box.height * margin));
          const right = Math.min(image.width, Math.ceil(face.box.x + face.box.width * (1 + margin)));
          const bottom = Math.min(image.height, Math.ceil(face.box.y + face.box.height * (1 + margin)));
          const crop = tf.slice(tensor, [y, x, 0], [bottom - y, right - x, 3]);
          const result = await describer!.detect(crop);
          const best = result.face
            .filter((f) => f.embedding && f.embedding.length > 0)
            .sort((a, b) => b.box[2] * b.box[3] - a.box[2] * a.box[3])[0];
          return best?.embedding ? Float32Array.from(best.embedding) : null;
        },
      };
      return await work(engineImage);
    } finally {
      tf.engine().endScope();
    }
  }
}

function embedderInfo(entry: ModelEntry): EmbedderInfo {
  if (!entry.descriptorLength || !entry.metric || entry.samePersonThreshold === undefined) {
    throw new Error(`models/manifest.json: embedder ${entry.name} lacks descriptorLength, metric or threshold`);
  }
  return {
    name: entry.name,
    version: embedderVersion(entry),
    length: entry.descriptorLength,
    metric: entry.metric,
    samePersonThreshold: entry.samePersonThreshold,
  };
}

let fileLoaderRegistered = false;

/**
 * Lets tfjs load `file://` graph models without tfjs-node: reads model.json and its weight shards from disk.
 * Registered once per process (the router registry is global).
 */
function registerFileLoader(tf: TfModule): void {
  if (fileLoaderRegistered) return;
  fileLoaderRegistered = true;
  // tfjs's IORouter type omits the null that routers return for URLs they do not handle.
  const router = (url: string | string[]): Tf.io.IOHandler | null => {
    if (typeof url !== 'string' || !url.startsWith('file://')) return null;
    const file = url.slice('file://'.length);
    return {
      load: () => {
        const json = JSON.parse(readFileSync(file, 'utf8')) as Tf.io.ModelJSON;
        const dir = path.dirname(file);
        const weightSpecs = json.weightsManifest.flatMap((group) => group.weights);
        const weights = Buffer.concat(
          json.weightsManifest.flatMap((group) => group.paths.map((shard) => readFileSync(path.join(dir, shard)))),
        );
        const artifacts: Tf.io.ModelArtifacts = {
          modelTopology: json.modelTopology,
          format: json.format,
          generatedBy: json.generatedBy,
          convertedBy: json.convertedBy,
          // The signature names a graph's outputs: without it faceres loses its 1024-d descriptor output.
          signature: json.signature,
          userDefinedMetadata: json.userDefinedMetadata,
          modelInitializer: json.modelInitializer,
          weightSpecs,
          weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
        };
        return Promise.resolve(artifacts);
      },
    };
  };
  tf.io.registerLoadRouter(router as Parameters<TfModule['io']['registerLoadRouter']>[0]);
}
