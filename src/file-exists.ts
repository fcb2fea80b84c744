import { stat } from 'node:fs/promises';

/** Whether an fs error says the path is not there (as opposed to unreadable, which callers must not ignore). */
export function isMissingFile(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

/**
 * Whether a path (file or directory) exists. Only "not there" is false: a permission or I/O error is thrown, not
 * read as absence.
 */
export async function fileExists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    (error: unknown) => {
      if (isMissingFile(error)) return false;
      throw error;
    },
  );
}
