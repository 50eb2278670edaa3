// `npm run notebook`: writes notebooks/tok-boy.ipynb from notebooks/source.ts.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { notebookJson } from './source.ts';

const out = path.join(path.dirname(fileURLToPath(import.meta.url)), 'tok-boy.ipynb');
await writeFile(out, notebookJson());
console.log(`wrote ${path.relative(process.cwd(), out)}`);
