import { describe, expect, it } from 'vitest';
import { choiceOption, integerOption, numberOption } from '../../scripts/bench/lib/options.js';

describe('bench options', () => {
  it('reads a whole number within its range', () => {
    expect(integerOption('faces', '10000000', 1, 100_000_000)).toBe(10_000_000);
    expect(integerOption('preload', '0', 0, 10)).toBe(0);
    expect(integerOption('preload', '10', 0, 10)).toBe(10);
  });

  it.each(['abc', '', ' 7', '1e7', '2.5', '0x10', '11', '-1'])(
    'refuses "%s" for a whole number from 0 to 10, naming the option',
    (raw) => {
      expect(() => integerOption('pairs', raw, 0, 10)).toThrow(/^--pairs must be an integer from 0 to 10 \(got/);
    },
  );

  it('reads fractions, and refuses what is not a number or out of range', () => {
    expect(numberOption('mb', '0.5', 0.01, 4000)).toBe(0.5);
    expect(numberOption('mb', '4000', 0.01, 4000)).toBe(4000);
    for (const raw of ['', 'abc', '0', '4001', 'Infinity', 'NaN']) {
      expect(() => numberOption('mb', raw, 0.01, 4000)).toThrow(/^--mb must be a number from 0.01 to 4000/);
    }
  });

  it('reads one of the choices, and lists them when given another', () => {
    expect(choiceOption('mode', 'single', ['batch', 'single'])).toBe('single');
    expect(() => choiceOption('mode', 'Single', ['batch', 'single'])).toThrow(
      '--mode must be one of batch, single (got "Single")',
    );
  });
});
