/**
 * Past this many faces the default search breadth (128) finds too few of a face's same-person partners. Measured
 * with the default graph (README, Scaling): breadth 128 found 0.995 of an exact scan's partners at 3M faces and
 * 0.987 at 10M; breadth 256 found 0.993 at 10M (p99 3.8-5.4 ms). Between 3M and 10M it was not measured, so the
 * warning starts halfway.
 */
export const WIDE_GALLERY_FACES = 5_000_000;
/** The breadth measured to find at least 0.99 of the partners at 10M faces. */
export const WIDE_GALLERY_BREADTH = 256;

/**
 * What to tell an operator whose gallery has outgrown its search breadth (`SIMSIFT_CLUSTER_SEARCH_BREADTH`), or
 * null when the breadth is enough for the gallery's size.
 */
export function searchBreadthWarning(faces: number, searchBreadth: number): string | null {
  if (faces < WIDE_GALLERY_FACES || searchBreadth >= WIDE_GALLERY_BREADTH) return null;
  return (
    `the gallery holds ${faces} faces: search breadth ${searchBreadth} misses same-person partners at this size ` +
    `(0.987 of an exact scan's found at 10M with 128); set SIMSIFT_CLUSTER_SEARCH_BREADTH=${WIDE_GALLERY_BREADTH}`
  );
}
