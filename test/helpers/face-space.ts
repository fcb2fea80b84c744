import { seededRandom } from '../../src/eval/seeded-random.js';

const DIMENSIONS = 128;

/** A made-up name for subscriber `i`: two random 7-letter words, so no two subscribers' names match. */
export function nameOf(i: number): string {
  const random = seededRandom(i + 1);
  const word = () => Array.from({ length: 7 }, () => String.fromCharCode(97 + Math.floor(random() * 26))).join('');
  return `${word()} ${word()}`;
}

/**
 * Synthetic 128-d faces with face_recognition's geometry: strangers about 0.85 apart, one person's photos about
 * `spread` apart (per-dimension noise scaled so that the expected pair distance is the given one).
 */
export class FaceSpace {
  private readonly random: () => number;
  constructor(seed: number) {
    this.random = seededRandom(seed);
  }
  private gaussian(): number {
    const u = Math.max(1e-12, this.random());
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.random());
  }
  /** A point whose distance to another such point is about `pairDistance`. */
  around(centre: Float32Array | null, pairDistance: number): Float32Array {
    const sd = pairDistance / Math.sqrt(2 * DIMENSIONS);
    return Float32Array.from({ length: DIMENSIONS }, (_, i) => (centre?.[i] ?? 0) + sd * this.gaussian());
  }
  stranger(): Float32Array {
    return this.around(null, 0.85);
  }
}
