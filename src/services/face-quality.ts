import type { DetectedFace, Point } from '../repositories/face-engine/face-engine.repository.js';
import { centroid } from './face-alignment.js';

/**
 * Sharpness: variance of the 4-neighbour Laplacian over a grey face crop. Blurred faces have little
 * high-frequency energy and score low; the crop is resized to a fixed size first so scores compare.
 */
export function laplacianVariance(grey: Uint8Array, width: number, height: number): number {
  let sum = 0;
  let sumSquares = 0;
  let n = 0;
  for (let y = 1; y < height - 1; y++) {
    for (let x = 1; x < width - 1; x++) {
      const i = y * width + x;
      const value = grey[i - width]! + grey[i + width]! + grey[i - 1]! + grey[i + 1]! - 4 * grey[i]!;
      sum += value;
      sumSquares += value * value;
      n++;
    }
  }
  if (n === 0) return 0;
  const mean = sum / n;
  return sumSquares / n - mean * mean;
}

/**
 * Head pose from the 68 landmarks, in degrees. Roll is the tilt of the line between the eye centres. Yaw is
 * read from where the nose tip sits between the two sides of the jaw (0.5 = facing the camera), mapped
 * through asin; a rough estimate, good enough to reject profile shots.
 */
export function estimatePose(landmarks: Point[]): { yaw: number; roll: number } {
  if (landmarks.length !== 68) throw new Error(`expected 68 landmarks, got ${landmarks.length}`);
  const leftEye = centroid(landmarks.slice(36, 42));
  const rightEye = centroid(landmarks.slice(42, 48));
  const rollRadians = Math.atan2(rightEye.y - leftEye.y, rightEye.x - leftEye.x);
  // Level the face first: measured on a tilted head, horizontal distances mix roll into yaw (a 30 degree
  // tilt read as a 60 degree turn and rejected good photos).
  const cos = Math.cos(-rollRadians);
  const sin = Math.sin(-rollRadians);
  const levelX = (p: Point) => p.x * cos - p.y * sin;
  const jawLeft = levelX(landmarks[0]!);
  const jawRight = levelX(landmarks[16]!);
  const nose = levelX(landmarks[30]!);
  const span = jawRight - jawLeft;
  const position = span === 0 ? 0.5 : (nose - jawLeft) / span;
  const yaw = (Math.asin(Math.max(-1, Math.min(1, (position - 0.5) * 2))) * 180) / Math.PI;
  return { yaw: round(yaw, 1), roll: round((rollRadians * 180) / Math.PI, 1) };
}

export interface SubjectRules {
  /** A second face at least this share of the subject's area can compete with it... */
  multiFaceAreaRatio: number;
  /** ...if the detector is at least this sure of it (faint background faces do not count)... */
  multiFaceMinScore: number;
}

/**
 * ...and if it is about as central as the subject: its centre at most this share of the frame's shorter side
 * farther from the frame's centre than the subject's. A KYC photo centres the subscriber; a face behind them,
 * at the side of the frame, is a bystander.
 */
export const RIVAL_CENTRE_SLACK = 0.2;
/**
 * A subject whose centre is farther than this share of the frame's shorter side from the frame's centre is not
 * centred (a group photo): then every confident face of similar size competes, wherever it is.
 */
export const CENTRED = 0.15;

export type SubjectChoice =
  | { kind: 'none' }
  | { kind: 'one'; face: DetectedFace; others: number; bystanders: DetectedFace[] }
  | { kind: 'ambiguous'; faces: DetectedFace[] };

/**
 * The subscriber is the dominant face: the largest, and of faces within the area ratio of it, the nearest the
 * centre of the frame. Another face makes the photo ambiguous only when it genuinely competes: similar size,
 * similar centrality and a confident detection (two people side by side, a photo of a photo held up). Other
 * faces are bystanders: the record is matched, and they are reported with it.
 */
export function chooseSubject(
  faces: readonly DetectedFace[],
  rules: SubjectRules,
  frame: { width: number; height: number } = { width: 0, height: 0 },
): SubjectChoice {
  if (faces.length === 0) return { kind: 'none' };
  const side = Math.min(frame.width, frame.height);
  const offCentre = (face: DetectedFace) =>
    side === 0
      ? 0
      : Math.hypot(
          face.box.x + face.box.width / 2 - frame.width / 2,
          face.box.y + face.box.height / 2 - frame.height / 2,
        ) / side;
  const largest = Math.max(...faces.map(area));
  // Among the faces nearly as large as the largest, the most central one is the subscriber.
  const subject = [...faces]
    .filter((face) => area(face) >= rules.multiFaceAreaRatio * largest)
    .sort((a, b) => offCentre(a) - offCentre(b) || area(b) - area(a))[0]!;
  const others = faces.filter((face) => face !== subject && overlap(face, subject) < 0.5);
  const rivals = others.filter(
    (face) =>
      face.score >= rules.multiFaceMinScore &&
      area(face) >= rules.multiFaceAreaRatio * area(subject) &&
      (offCentre(subject) > CENTRED || offCentre(face) <= offCentre(subject) + RIVAL_CENTRE_SLACK),
  );
  if (rivals.length > 0) return { kind: 'ambiguous', faces: [subject, ...rivals] };
  return {
    kind: 'one',
    face: subject,
    others: faces.length - 1,
    bystanders: others.filter((face) => face.score >= rules.multiFaceMinScore),
  };
}

const area = (face: DetectedFace) => face.box.width * face.box.height;

/** Intersection over the smaller box: duplicate detections of one face overlap almost fully. */
function overlap(a: DetectedFace, b: DetectedFace): number {
  const x = Math.max(0, Math.min(a.box.x + a.box.width, b.box.x + b.box.width) - Math.max(a.box.x, b.box.x));
  const y = Math.max(0, Math.min(a.box.y + a.box.height, b.box.y + b.box.height) - Math.max(a.box.y, b.box.y));
  return (x * y) / Math.min(area(a), area(b));
}

export function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
