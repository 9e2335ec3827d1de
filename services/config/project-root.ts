/**
 * The project folder (the one holding package.json), found from this file's place, so code reads its
 * files (the OpenAPI contract, web/, the workflow bundle) the same whether it runs as TypeScript from
 * its source folder or compiled into one file under dist/app.
 */
import fs from 'node:fs';
import path from 'node:path';

function findRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

export const PROJECT_ROOT = findRoot(__dirname);
