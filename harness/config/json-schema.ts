// The editors' JSON Schema, generated from the same zod schema the harness validates with.
import { z } from 'zod';
import { experimentSchema } from './schema.ts';

export const SCHEMA_FILE = 'schema/experiment.schema.json';

export function experimentJsonSchema(): string {
  const schema = z.toJSONSchema(experimentSchema, { io: 'input', unrepresentable: 'any' });
  const document = {
    ...schema,
    title: 'harness experiment',
    description: 'An experiment of harness: base model, dataset, baseline training settings, variants, samples, scoring.',
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}
