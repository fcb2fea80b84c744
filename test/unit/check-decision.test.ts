import { describe, expect, it } from 'vitest';
import { checkDecision } from '../../src/services/checks/check.service.js';

describe('a check decision', () => {
  it('refuses over the SIM cap, sends any other finding to review, and allows when nothing fires', () => {
    expect(checkDecision(['SIM_CAP_EXCEEDED'])).toBe('refuse');
    expect(checkDecision(['MULTI_IDENTITY_FACE', 'SIM_CAP_EXCEEDED'])).toBe('refuse');
    for (const reason of ['MULTI_IDENTITY_FACE', 'DOCUMENT_REUSE', 'PHOTO_REUSE', 'NO_USABLE_FACE'] as const) {
      expect(checkDecision([reason])).toBe('review');
    }
    expect(checkDecision([])).toBe('allow');
  });
});
