import type {
  DetectedFace,
  EmbedderInfo,
  EngineImage,
  FaceBox,
  Point,
  RgbImage,
} from '../repositories/face-engine/face-engine.repository.js';
import type { DecodedPhoto } from '../repositories/image.repository.js';
import type { FaceQuality, NewFace, RecordPhoto } from '../repositories/face.repository.js';
import type { PhotoMimeType } from '../repositories/photo-store.repository.js';
import { chooseSubject, estimatePose, laplacianVariance, round } from './face-quality.js';
import type { RecordState } from './record-states.js';
import { noUsableFaceCandidate, type RecordCandidateWrite } from './rules/rules.service.js';

/** Thresholds of the face quality gate; defaults (and the measurements behind them) are in config.ts. */
export interface FaceThresholds {
  /** Photos are scaled to fit this many pixels on their longer side before detection. */
  detectionMaxSide: number;
  minDetectionScore: number;
  /** Score for the SSD fallback detector, tried only when BlazeFace finds nothing. */
  fallbackMinDetectionScore: number;
  /** Smaller side of the face box in the original photo's pixels. */
  minFacePx: number;
  multiFaceAreaRatio: number;
  multiFaceMinScore: number;
  /** Variance of the Laplacian over a 112 px grey face crop. */
  minBlur: number;
  maxAbsYaw: number;
}

export interface FaceStore {
  findRecordPhoto(recordId: number): Promise<RecordPhoto | null>;
  /** Upserts the face and marks the record `face_ready`, in one transaction. Returns the face id. */
  saveFace(face: NewFace): Promise<number>;
  /**
   * Marks a record with a reason state (no usable face), with the block candidate the rules make of it
   * (NO_USABLE_FACE), and removes any face an earlier attempt stored.
   */
  saveOutcome(
    recordId: number,
    state: RecordState,
    detail: Record<string, unknown>,
    candidate: RecordCandidateWrite,
  ): Promise<void>;
}
export interface PhotoReader {
  read(sha256: Buffer, mimeType: PhotoMimeType): Promise<Buffer>;
}
export interface FaceImages {
  decode(bytes: Buffer, maxSide: number): Promise<DecodedPhoto>;
  pad(image: RgbImage, factor: number): Promise<{ image: RgbImage; offsetX: number; offsetY: number }>;
  greyFace(image: RgbImage, box: FaceBox, size: number): Promise<Uint8Array>;
  writeThumbnail(image: RgbImage, box: FaceBox, relative: string): Promise<string>;
  perceptualHash(image: RgbImage): Promise<string>;
}
export interface FaceModels {
  readonly embedder: EmbedderInfo;
  withImage<T>(image: RgbImage, work: (image: EngineImage) => Promise<T>): Promise<T>;
}
export interface ClusterQueue {
  enqueueFaces(faceIds: readonly number[]): Promise<void>;
}

export type Stage =
  'read' | 'decode' | 'detect' | 'landmarks' | 'descriptor' | 'quality' | 'thumbnail' | 'phash' | 'db';

/**
 * Where the pipeline reports each photo it took to a final state, with its stage timings in milliseconds: the
 * workers' Prometheus metrics. Tests, evaluation and the CLI's in-process pipeline keep the no-op default.
 */
export interface PipelineMetrics {
  photoProcessed(state: RecordState, timings: Readonly<Partial<Record<Stage, number>>>): void;
}
export const NO_PIPELINE_METRICS: PipelineMetrics = { photoProcessed: () => undefined };

export interface FaceOutcome {
  recordId: number;
  /** null when the record no longer exists (nothing to do). */
  state: RecordState | null;
  detail: Record<string, unknown>;
  faceId: number | null;
  timings: Partial<Record<Stage, number>>;
}

/** A photo's face, ready to store or to compare, or the reason the photo has none. */
export type PhotoAnalysis =
  | { state: Exclude<RecordState, 'face_ready' | 'waiting' | 'queued'>; detail: Record<string, unknown> }
  | {
      state: 'face_ready';
      detail: FaceQuality;
      embedding: Float32Array;
      /** In the original photo's pixels. */
      bbox: FaceBox;
      landmarks: [number, number][];
      photoPhash: string;
      /** Writes the face thumbnail under the data directory; returns its relative path. */
      writeThumbnail(relative: string): Promise<string>;
    };

type Timer = <T>(stage: Stage, work: () => Promise<T>) => Promise<T>;
const untimed: Timer = (_stage, work) => work();

/** How many sides of the image the box reaches (within 2% of its size): 2 or more means a tight crop. */
function edgesTouched(box: FaceBox, image: RgbImage): number {
  const marginX = image.width * 0.02;
  const marginY = image.height * 0.02;
  return (
    Number(box.x <= marginX) +
    Number(box.y <= marginY) +
    Number(box.x + box.width >= image.width - marginX) +
    Number(box.y + box.height >= image.height - marginY)
  );
}

const BLUR_CROP = 112;
/**
 * Changes whenever a change to this pipeline changes what it makes of a photo: results cached by `simsift eval`
 * and the survey are kept per revision. 2: faces that fill the frame are detected again on a padded canvas.
 * 3: the dominant face is the subscriber (bystanders do not make a photo ambiguous), and a blurred or turned
 * face is embedded with a flag instead of ending `low_quality`.
 */
export const FACE_PIPELINE_REVISION = 3;

/** Tightly cropped portraits are retried on a canvas this many times their size. */
const PAD_FACTOR = 2;
/**
 * A face whose box spans at least this share of the photo's shorter side fills the frame: it is detected again on
 * the padded canvas, where the detector sees the whole head and places a box the landmark net can work from.
 * Measured with `simsift eval` on faces-dev (mostly 92x112 and 150x150 face crops, the face ~0.9 of the frame):
 * face_recognition TAR at FAR 1e-3 0.814 -> 0.945, pairwise P / R 0.994 / 0.709 -> 1.0 / 0.838. On the same
 * photos mounted on a backdrop 2.2x their size (a framed portrait, where this rule does not fire) TAR was 0.942
 * either way, and padding every photo there gained nothing (0.941) for 29% more time: hence a share, not always.
 */
const FILLS_FRAME_SHARE = 0.5;

/** Whether the face fills the photo (see FILLS_FRAME_SHARE). */
function fillsFrame(box: FaceBox, image: RgbImage): boolean {
  return Math.min(box.width, box.height) >= FILLS_FRAME_SHARE * Math.min(image.width, image.height);
}

/**
 * The face pipeline for one KYC record: decode, find the subscriber's face, check it is usable, embed it,
 * store it with a thumbnail and a perceptual hash of the photo, and queue it for clustering. A photo without
 * a usable face ends in a reason state; that is a result, not an error.
 */
export class FacePipelineService {
  constructor(
    private readonly deps: {
      store: FaceStore;
      photos: PhotoReader;
      images: FaceImages;
      models: FaceModels;
      clusterQueue: ClusterQueue;
      thresholds: FaceThresholds;
      metrics?: PipelineMetrics;
    },
  ) {
    this.analyser = new PhotoAnalyser(deps);
    this.metrics = deps.metrics ?? NO_PIPELINE_METRICS;
  }

  private readonly analyser: PhotoAnalyser;
  private readonly metrics: PipelineMetrics;

  /**
   * Takes one record's photo to `face_ready` or a reason state. Only photos that reached a final state are
   * reported to the metrics: a record deleted meanwhile processed no photo, and a fault is retried (and counted by
   * the queue worker as a failed job).
   */
  async processRecord(recordId: number): Promise<FaceOutcome> {
    const outcome = await this.process(recordId);
    if (outcome.state) this.metrics.photoProcessed(outcome.state, outcome.timings);
    return outcome;
  }

  private async process(recordId: number): Promise<FaceOutcome> {
    const timings: Partial<Record<Stage, number>> = {};
    const time: Timer = async (stage, work) => {
      const started = performance.now();
      try {
        return await work();
      } finally {
        timings[stage] = (timings[stage] ?? 0) + (performance.now() - started);
      }
    };
    const { store, photos, models, clusterQueue } = this.deps;
    const record = await time('db', () => store.findRecordPhoto(recordId));
    if (!record) return { recordId, state: null, detail: {}, faceId: null, timings };

    const bytes = await time('read', () => photos.read(record.photoSha256, record.mimeType));
    const analysis = await this.analyser.analyse(bytes, time);
    if (analysis.state !== 'face_ready') {
      await time('db', () =>
        store.saveOutcome(
          recordId,
          analysis.state,
          analysis.detail,
          noUsableFaceCandidate(recordId, analysis.state, analysis.detail),
        ),
      );
      return { recordId, state: analysis.state, detail: analysis.detail, faceId: null, timings };
    }
    const thumbnailPath = await time('thumbnail', () =>
      analysis.writeThumbnail(
        `thumbnails/${String(recordId % 100).padStart(2, '0')}/${recordId}-${models.embedder.name}.jpg`,
      ),
    );
    const faceId = await time('db', () =>
      store.saveFace({
        recordId,
        photoSha256: record.photoSha256,
        bbox: analysis.bbox,
        landmarks: analysis.landmarks,
        quality: analysis.detail,
        embedder: models.embedder.name,
        embedderVersion: models.embedder.version,
        embedding: analysis.embedding,
        thumbnailPath,
        photoPhash: analysis.photoPhash,
      }),
    );
    await time('db', () => clusterQueue.enqueueFaces([faceId]));
    return { recordId, state: 'face_ready', detail: { ...analysis.detail }, faceId, timings };
  }
}

/**
 * Finds the subscriber's face in a photo, checks it is usable and embeds it; stores nothing. Used for stored
 * records and for pre-activation checks alike, so both pass the same quality gate.
 */
export class PhotoAnalyser {
  constructor(private readonly deps: { images: FaceImages; models: FaceModels; thresholds: FaceThresholds }) {}

  async analyse(bytes: Buffer, time: Timer = untimed): Promise<PhotoAnalysis> {
    const { images, models, thresholds } = this.deps;
    let decoded: DecodedPhoto;
    try {
      decoded = await time('decode', () => images.decode(bytes, thresholds.detectionMaxSide));
    } catch (error) {
      if ((error as Error).name !== 'UnreadableImageError') throw error;
      return { state: 'unreadable_image', detail: { reason: (error as Error).message } };
    }
    // Detect on the photo. Tight crops (face cut by or filling the frame), tiny faces and misses are retried on a
    // padded canvas, where detectors and the landmark net see the whole head; the SSD detector is the last resort.
    let work = { image: decoded.image, offsetX: 0, offsetY: 0, padded: false };
    let faces = await time('detect', () =>
      models.withImage(work.image, (img) => img.detectBlazeFace(thresholds.minDetectionScore)),
    );
    const first = chooseSubject(faces, thresholds, decoded.image);
    // An ambiguous first pass is retried too: BlazeFace sometimes splits one cropped face into two boxes.
    const needsPadding =
      first.kind === 'none' ||
      first.kind === 'ambiguous' ||
      (first.kind === 'one' &&
        (Math.min(first.face.box.width, first.face.box.height) * decoded.scale < thresholds.minFacePx ||
          edgesTouched(first.face.box, decoded.image) >= 2 ||
          fillsFrame(first.face.box, decoded.image)));
    if (needsPadding) {
      const padded = await time('detect', () => images.pad(decoded.image, PAD_FACTOR));
      const paddedFaces = await time('detect', () =>
        models.withImage(padded.image, async (img) => {
          const found = await img.detectBlazeFace(thresholds.minDetectionScore);
          return found.length > 0 ? found : img.detectSsd(thresholds.fallbackMinDetectionScore);
        }),
      );
      const retried = chooseSubject(paddedFaces, thresholds, padded.image);
      // A crowd stays a crowd on the padded canvas; keep the padded pass only when it settles the question.
      if (retried.kind === 'one' || (retried.kind === 'ambiguous' && first.kind !== 'ambiguous')) {
        work = { ...padded, padded: true };
        faces = paddedFaces;
      }
    }
    // Boxes in the original photo's pixels, clipped to it: a padded pass can see a head the frame cuts off.
    const toOriginal = (box: FaceBox): FaceBox => {
      const left = Math.max(0, (box.x - work.offsetX) * decoded.scale);
      const top = Math.max(0, (box.y - work.offsetY) * decoded.scale);
      const right = Math.min(decoded.originalWidth, (box.x - work.offsetX + box.width) * decoded.scale);
      const bottom = Math.min(decoded.originalHeight, (box.y - work.offsetY + box.height) * decoded.scale);
      return {
        x: round(left, 1),
        y: round(top, 1),
        width: round(Math.max(0, right - left), 1),
        height: round(Math.max(0, bottom - top), 1),
      };
    };
    const choice = chooseSubject(faces, thresholds, work.image);
    if (choice.kind === 'none') {
      return {
        state: 'no_face',
        detail: { detectors: ['blazeface', 'blazeface_padded', 'ssd_mobilenetv1_padded'] },
      };
    }
    if (choice.kind === 'ambiguous') {
      return {
        state: 'multiple_faces',
        detail: { faces: choice.faces.map((face) => ({ box: toOriginal(face.box), score: round(face.score, 3) })) },
      };
    }
    const subject: DetectedFace = choice.face;
    const facePx = Math.round(Math.min(subject.box.width, subject.box.height) * decoded.scale);
    if (facePx < thresholds.minFacePx) {
      return {
        state: 'face_too_small',
        detail: { face_px: facePx, min_face_px: thresholds.minFacePx, box: toOriginal(subject.box) },
      };
    }

    const analysed = await models.withImage(work.image, async (img) => {
      const landmarks = await time('landmarks', () => img.landmarks(subject));
      const pose = estimatePose(landmarks);
      const grey = await time('quality', () => images.greyFace(work.image, subject.box, BLUR_CROP));
      const blur = round(laplacianVariance(grey, BLUR_CROP, BLUR_CROP), 1);
      // A blurred or turned face is still the subscriber's: it is embedded and matched, with a flag. The rules
      // let such a face match but not call another face a different person (IdentityPolicy.clearFace).
      const flags = [
        ...(blur < thresholds.minBlur ? ['blurred'] : []),
        ...(Math.abs(pose.yaw) > thresholds.maxAbsYaw ? ['turned'] : []),
      ];
      const quality: FaceQuality = {
        face_px: facePx,
        detection_score: round(subject.score, 3),
        detector: subject.detector,
        faces_found: choice.others + 1,
        blur,
        yaw: pose.yaw,
        roll: pose.roll,
        padded: work.padded,
        ...(flags.length > 0 ? { flags } : {}),
        ...(choice.bystanders.length > 0
          ? {
              other_faces: choice.bystanders.map((face) => ({
                box: toOriginal(face.box),
                score: round(face.score, 3),
              })),
            }
          : {}),
      };
      const embedding = await time('descriptor', () => img.describe(subject, landmarks));
      return { quality, landmarks, embedding };
    });
    if (!analysed.embedding) {
      return {
        state: 'low_quality',
        detail: { ...analysed.quality, reason: 'the embedder found no face in the detected region' },
      };
    }

    const photoPhash = await time('phash', () => images.perceptualHash(decoded.image));
    const landmarks: [number, number][] = analysed.landmarks.map((p: Point) => [
      round((p.x - work.offsetX) * decoded.scale, 1),
      round((p.y - work.offsetY) * decoded.scale, 1),
    ]);
    return {
      state: 'face_ready',
      detail: analysed.quality,
      embedding: analysed.embedding,
      bbox: toOriginal(subject.box),
      landmarks,
      photoPhash,
      writeThumbnail: (relative) => images.writeThumbnail(work.image, subject.box, relative),
    };
  }
}
