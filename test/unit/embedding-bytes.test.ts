import { describe, expect, it } from 'vitest';
import { bytesToEmbedding, embeddingToBytes } from '../../src/repositories/face.repository.js';

describe('embedding bytes', () => {
  it('reads back what was written, from a buffer at any offset of a larger one', () => {
    const embedding = Float32Array.from({ length: 128 }, (_, i) => Math.sin(i) / 3);
    const bytes = embeddingToBytes(embedding);
    // pg hands out bytea values as slices of one larger buffer, at odd offsets.
    const pooled = Buffer.concat([Buffer.from([1, 2, 3]), bytes, Buffer.from([4])]).subarray(3, 3 + bytes.length);
    expect(bytesToEmbedding(bytes)).toEqual(embedding);
    expect(bytesToEmbedding(pooled)).toEqual(embedding);
  });
});
