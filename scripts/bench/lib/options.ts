/**
 * Checked bench options: a bench runs for minutes to hours, so a typo (`--faces 1e7x`, `--pairs -5`) must stop
 * it at once with the option's name and range, not run on NaN and fail, or mislead, at the end.
 */

/** A whole number from `min` to `max` (inclusive), from the raw text of `--name`. */
export function integerOption(name: string, raw: string, min: number, max: number): number {
  // Number('') is 0 and Number(' 7 ') is 7: only plain digits (and a leading minus) are a number here.
  const value = /^-?\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new Error(`--${name} must be an integer from ${min} to ${max} (got "${raw}")`);
  }
  return value;
}

/** A number from `min` to `max` (inclusive), fractions allowed, from the raw text of `--name`. */
export function numberOption(name: string, raw: string, min: number, max: number): number {
  const value = raw.trim() === '' ? Number.NaN : Number(raw);
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new Error(`--${name} must be a number from ${min} to ${max} (got "${raw}")`);
  }
  return value;
}

/** One of `choices`, from the raw text of `--name`. */
export function choiceOption<Choice extends string>(name: string, raw: string, choices: readonly Choice[]): Choice {
  const choice = choices.find((candidate) => candidate === raw);
  if (choice === undefined) throw new Error(`--${name} must be one of ${choices.join(', ')} (got "${raw}")`);
  return choice;
}
