import { describe, expect, it } from 'vitest';
import type { DetectedFace, Point } from '../../src/repositories/face-engine/face-engine.repository.js';
import { chooseSubject, estimatePose, laplacianVariance } from '../../src/services/face-quality.js';

/** A frontal, level face: 68 points mirrored about x = 100, nose tip (30) on the axis. */
function frontalLandmarks(): Point[] {
  const points: Point[] = Array.from({ length: 68 }, () => ({ x: 100, y: 100 }));
  for (let i = 0; i <= 16; i++) points[i] = { x: 40 + (120 * i) / 16, y: 100 + 40 * Math.sin((Math.PI * i) / 16) };
  for (let i = 0; i < 6; i++) {
    const angle = (Math.PI * 2 * i) / 6;
    points[36 + i] = { x: 70 + 8 * Math.cos(angle), y: 90 + 4 * Math.sin(angle) };
    points[42 + i] = { x: 130 - 8 * Math.cos(angle), y: 90 + 4 * Math.sin(angle) };
  }
  points[30] = { x: 100, y: 115 };
  return points;
}

function rotate(points: Point[], degrees: number): Point[] {
  const r = (degrees * Math.PI) / 180;
  return points.map((p) => ({
    x: 100 + (p.x - 100) * Math.cos(r) - (p.y - 100) * Math.sin(r),
    y: 100 + (p.x - 100) * Math.sin(r) + (p.y - 100) * Math.cos(r),
  }));
}

const face = (x: number, y: number, size: number, score = 0.9): DetectedFace => ({
  box: { x, y, width: size, height: size },
  score,
  detector: 'blazeface',
});
const rules = { multiFaceAreaRatio: 0.5, multiFaceMinScore: 0.6 };

describe('estimatePose', () => {
  it('reads a frontal level face as yaw 0 and roll 0', () => {
    expect(estimatePose(frontalLandmarks())).toEqual({ yaw: 0, roll: 0 });
  });

  it('reads a tilted head as roll, not as a turned head', () => {
    const pose = estimatePose(rotate(frontalLandmarks(), 30));
    expect(pose.roll).toBeCloseTo(30, 0);
    expect(Math.abs(pose.yaw)).toBeLessThan(1);
  });

  it('reads the nose moving towards one side of the jaw as yaw with that sign', () => {
    const turned = frontalLandmarks();
    turned[30] = { x: 130, y: 115 };
    const pose = estimatePose(turned);
    expect(pose.yaw).toBeCloseTo(30, 0);
    turned[30] = { x: 160, y: 115 };
    expect(estimatePose(turned).yaw).toBe(90);
    turned[30] = { x: 70, y: 115 };
    expect(estimatePose(turned).yaw).toBeCloseTo(-30, 0);
  });

  it('refuses anything but 68 points', () => {
    expect(() => estimatePose(frontalLandmarks().slice(0, 5))).toThrow(/68 landmarks/);
  });
});

describe('laplacianVariance', () => {
  const size = 32;
  const image = (pixel: (x: number, y: number) => number) =>
    Uint8Array.from({ length: size * size }, (_, i) => pixel(i % size, Math.floor(i / size)));

  it('is zero on a flat image and large on sharp edges', () => {
    expect(
      laplacianVariance(
        image(() => 90),
        size,
        size,
      ),
    ).toBe(0);
    expect(
      laplacianVariance(
        image((x, y) => ((x + y) % 2) * 255),
        size,
        size,
      ),
    ).toBeGreaterThan(100_000);
  });

  it('scores a soft gradient below hard stripes', () => {
    const soft = laplacianVariance(
      image((x) => Math.round(128 + 100 * Math.sin(x / 5))),
      size,
      size,
    );
    const hard = laplacianVariance(
      image((x) => (Math.floor(x / 2) % 2) * 255),
      size,
      size,
    );
    expect(soft).toBeLessThan(hard);
    expect(soft).toBeGreaterThan(0);
  });
});

describe('chooseSubject', () => {
  it('finds none, one, or the largest of unequal faces', () => {
    expect(chooseSubject([], rules)).toEqual({ kind: 'none' });
    expect(chooseSubject([face(0, 0, 100)], rules)).toMatchObject({ kind: 'one', others: 0 });
    const choice = chooseSubject([face(300, 0, 40), face(0, 0, 100)], rules);
    expect(choice).toMatchObject({ kind: 'one', others: 1, face: { box: { x: 0, width: 100 } } });
  });

  it('calls two confident faces of similar size ambiguous', () => {
    const choice = chooseSubject([face(0, 0, 100), face(200, 0, 90)], rules);
    expect(choice.kind).toBe('ambiguous');
    expect(choice.kind === 'ambiguous' && choice.faces).toHaveLength(2);
  });

  it('ignores a faint rival and a duplicate box of the same face', () => {
    expect(chooseSubject([face(0, 0, 100), face(200, 0, 95, 0.4)], rules).kind).toBe('one');
    expect(chooseSubject([face(0, 0, 100), face(5, 5, 95)], rules).kind).toBe('one');
  });

  it('takes the centred face over a bystander of similar size at the edge, and lists the bystander', () => {
    const frame = { width: 1000, height: 800 };
    const subject = face(430, 330, 140);
    const bystander = face(850, 650, 130);
    const choice = chooseSubject([bystander, subject], rules, frame);
    expect(choice).toMatchObject({ kind: 'one', face: subject, bystanders: [bystander] });
    // Without the frame (centrality unknown) the same two faces compete.
    expect(chooseSubject([bystander, subject], rules).kind).toBe('ambiguous');
    // The subject is the most central of the faces nearly as large as the largest, not the largest.
    expect(chooseSubject([face(850, 650, 150), subject], rules, frame)).toMatchObject({ kind: 'one', face: subject });
  });

  it('calls a group photo ambiguous: when the subject is not centred, similar faces compete wherever they are', () => {
    const frame = { width: 900, height: 600 };
    const choice = chooseSubject([face(100, 60, 100), face(380, 80, 110), face(650, 60, 100)], rules, frame);
    expect(choice.kind).toBe('ambiguous');
    expect(choice.kind === 'ambiguous' && choice.faces).toHaveLength(3);
  });
});
