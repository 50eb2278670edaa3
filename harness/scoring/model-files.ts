// tfjs without tfjs-node has no file:// handler: this load router reads a graph model's model.json and its
// weight shards from disk, and applies the semantics-preserving topology rewrites of graph-rewrite.ts.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fuseScalarClips, type GraphNode } from './graph-rewrite.ts';

interface ModelJson {
  modelTopology: { node?: GraphNode[] } & Record<string, unknown>;
  format?: string;
  generatedBy?: string;
  convertedBy?: string;
  signature?: unknown;
  userDefinedMetadata?: unknown;
  weightsManifest: { paths: string[]; weights: unknown[] }[];
}

/** The model artifacts tfjs expects from an IO handler; `rewrite: false` gives the graph as shipped. */
export async function readGraphModel(file: string, options: { rewrite?: boolean } = {}) {
  const json = JSON.parse(await readFile(file, 'utf8')) as ModelJson;
  let modelTopology = json.modelTopology;
  if (options.rewrite !== false && Array.isArray(modelTopology.node)) {
    modelTopology = { ...modelTopology, node: fuseScalarClips(modelTopology.node).nodes };
  }
  const weightSpecs = json.weightsManifest.flatMap((group) => group.weights);
  const shards = await Promise.all(json.weightsManifest.flatMap((group) => group.paths).map((p) => readFile(path.join(path.dirname(file), p))));
  const all = Buffer.concat(shards);
  return {
    modelTopology,
    format: json.format,
    generatedBy: json.generatedBy,
    convertedBy: json.convertedBy,
    signature: json.signature,
    userDefinedMetadata: json.userDefinedMetadata,
    weightSpecs,
    weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
  };
}

/** Registered with tf.io.registerLoadRouter: answers file:// URLs only. */
export function fileRouter(url: string | string[]) {
  const href = Array.isArray(url) ? url[0] : url;
  if (typeof href !== 'string' || !href.startsWith('file://')) return null;
  const file = fileURLToPath(href);
  return { load: () => readGraphModel(file) };
}
