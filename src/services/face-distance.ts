/** Distance between two face descriptors under the embedder's metric: smaller is more alike. */
export function faceDistance(a: Float32Array, b: Float32Array, metric: 'euclidean' | 'cosine'): number {
  if (a.length !== b.length) throw new Error(`descriptor lengths differ: ${a.length} vs ${b.length}`);
  if (metric === 'euclidean') {
    let sum = 0;
    for (let i = 0; i < a.length; i++) {
      const d = a[i]! - b[i]!;
      sum += d * d;
    }
    return Math.sqrt(sum);
  }
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na === 0 || nb === 0 ? 1 : 1 - dot / Math.sqrt(na * nb);
}

/**
 * `faceDistance` when it is below `limit`, else Infinity. For euclidean descriptors the sum stops as soon as it
 * passes the limit: most pairs in a gallery are strangers, far above any same-person threshold, so this reads
 * a fraction of each vector. Exact for every pair under the limit.
 */
export function distanceBelow(a: Float32Array, b: Float32Array, metric: 'euclidean' | 'cosine', limit: number): number {
  if (metric === 'cosine') {
    const distance = faceDistance(a, b, metric);
    return distance < limit ? distance : Infinity;
  }
  if (a.length !== b.length) throw new Error(`descriptor lengths differ: ${a.length} vs ${b.length}`);
  const bound = limit * limit;
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    sum += d * d;
    // Checked every 16 dimensions: often enough to stop early, rarely enough to keep the loop tight.
    if ((i & 15) === 15 && sum >= bound) return Infinity;
  }
  return sum < bound ? Math.sqrt(sum) : Infinity;
}

/**
 * Verification figures from labelled distances: for each false-accept rate, the largest threshold whose
 * impostor acceptance stays within it, and the share of genuine pairs accepted there.
 */
export function verificationAtFar(genuine: number[], impostor: number[], fars: number[]) {
  const sortedImpostor = [...impostor].sort((x, y) => x - y);
  const result: Record<string, { threshold: number; tar: number }> = {};
  for (const far of fars) {
    const allowed = Math.floor(far * sortedImpostor.length);
    // Accept d < threshold: with `allowed` impostors below it at most.
    const threshold = sortedImpostor[allowed] ?? Infinity;
    const tar = genuine.filter((d) => d < threshold).length / Math.max(1, genuine.length);
    result[String(far)] = { threshold, tar };
  }
  return result;
}
