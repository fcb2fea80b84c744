import { describe, expect, it } from 'vitest';
import {
  searchBreadthWarning,
  WIDE_GALLERY_BREADTH,
  WIDE_GALLERY_FACES,
} from '../../src/services/clustering/search-breadth.js';

describe('searchBreadthWarning', () => {
  it('stays quiet while the gallery is small enough for the breadth', () => {
    expect(searchBreadthWarning(WIDE_GALLERY_FACES - 1, 128)).toBeNull();
    expect(searchBreadthWarning(0, 16)).toBeNull();
  });

  it('stays quiet for a large gallery searched broadly enough', () => {
    expect(searchBreadthWarning(10_000_000, WIDE_GALLERY_BREADTH)).toBeNull();
    expect(searchBreadthWarning(10_000_000, 512)).toBeNull();
  });

  it('names the setting and the breadth to use once a large gallery is searched too narrowly', () => {
    const warning = searchBreadthWarning(WIDE_GALLERY_FACES, 128);
    expect(warning).toContain(`the gallery holds ${WIDE_GALLERY_FACES} faces`);
    expect(warning).toContain(`SIMSIFT_CLUSTER_SEARCH_BREADTH=${WIDE_GALLERY_BREADTH}`);
    expect(searchBreadthWarning(10_000_000, WIDE_GALLERY_BREADTH - 1)).not.toBeNull();
  });
});
