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
