// Prisma CLI configuration: the JS (WASM) schema engine with our pg adapter, because the native
// engines cannot be downloaded on every machine (see services/db/pg-adapter.ts).
import path from 'node:path';
import { defineConfig } from 'prisma/config';
import { createPgAdapter } from './services/db/pg-adapter';

export default defineConfig({
  experimental: { adapter: true },
  engine: 'js',
  schema: path.join('prisma', 'schema.prisma'),
  migrations: { path: path.join('prisma', 'migrations') },
  adapter: async () => {
    const url = process.env.DATABASE_URL;
    if (!url) throw new Error('DATABASE_URL is not set (run through scripts/prisma.sh)');
    return createPgAdapter(url);
  },
});
