// `npm run schema`: regenerates schema/experiment.schema.json (a test fails while it is stale).
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { experimentJsonSchema, SCHEMA_FILE } from './json-schema.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
await writeFile(path.join(root, SCHEMA_FILE), experimentJsonSchema());
console.log(`wrote ${SCHEMA_FILE}`);
