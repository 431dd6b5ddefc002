/** A temporary directory per test file, removed afterwards. */
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TempDir {
  dir: string;
  path(name: string): string;
  /** Write `name` in place (truncate + write), as an editor or `cp` would. */
  write(name: string, data: Buffer | string): Promise<string>;
  /** Replace `name` atomically (write a sibling, rename over), as geoipupdate does. */
  replace(name: string, data: Buffer | string): Promise<string>;
  remove(): Promise<void>;
}

export async function tempDir(prefix = 'vigil-tracing-'): Promise<TempDir> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  let n = 0;
  return {
    dir,
    path: (name) => join(dir, name),
    async write(name, data) {
      const p = join(dir, name);
      await writeFile(p, data);
      return p;
    },
    async replace(name, data) {
      const p = join(dir, name);
      const tmp = join(dir, `.${name}.${n++}.tmp`);
      await writeFile(tmp, data);
      await rename(tmp, p);
      return p;
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
