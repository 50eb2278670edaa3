// Semantics-preserving rewrites of a tfjs graph model's topology, applied as a model file is read. Pure.
//
// FaceRes (the face embedding) was exported with every ReLU6 spelled out as Relu → Minimum(6) → Maximum(0).
// On the wasm backend a binary op against a scalar takes a slow broadcasting path: those 54 ops cost about
// half of the embedding's time (150 of 290 ms on one core). One ClipByValue does the same arithmetic
// (max then min of the same float, so the outputs are bit-identical: a test compares them).

export interface GraphNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, unknown>;
}

function source(input: string): string {
  return input.replace(/^\^/, '').split(':')[0]!;
}

function isScalarConst(node: GraphNode | undefined): boolean {
  if (node?.op !== 'Const') return false;
  const tensor = (node.attr?.value as { tensor?: { tensorShape?: { dim?: unknown[] } } } | undefined)?.tensor;
  return (tensor?.tensorShape?.dim ?? []).length === 0;
}

/** The non-constant input and the scalar constant of a binary op, or null when it is not of that shape. */
function splitScalar(node: GraphNode, byName: Map<string, GraphNode>): { x: string; scalar: string } | null {
  const [a, b] = node.input ?? [];
  if (!a || !b || node.input!.length !== 2) return null;
  if (isScalarConst(byName.get(source(b)))) return { x: a, scalar: b };
  if (isScalarConst(byName.get(source(a)))) return { x: b, scalar: a };
  return null;
}

/**
 * Maximum(Minimum(x, hi), lo) and Minimum(Maximum(x, lo), hi), with scalar constants and an inner op used
 * nowhere else, become ClipByValue(x, lo, hi). Returns the new node list and how many pairs it fused.
 */
export function fuseScalarClips(nodes: readonly GraphNode[]): { nodes: GraphNode[]; fused: number } {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const uses = new Map<string, number>();
  for (const n of nodes) for (const input of n.input ?? []) uses.set(source(input), (uses.get(source(input)) ?? 0) + 1);
  const replaced = new Map<string, GraphNode>();
  const removed = new Set<string>();
  for (const outer of nodes) {
    if (outer.op !== 'Maximum' && outer.op !== 'Minimum') continue;
    const innerOp = outer.op === 'Maximum' ? 'Minimum' : 'Maximum';
    const outerSplit = splitScalar(outer, byName);
    if (!outerSplit || outerSplit.x.startsWith('^')) continue;
    const inner = byName.get(source(outerSplit.x));
    if (!inner || inner.op !== innerOp || uses.get(inner.name) !== 1 || removed.has(inner.name)) continue;
    const innerSplit = splitScalar(inner, byName);
    if (!innerSplit || innerSplit.x.startsWith('^')) continue;
    const [lo, hi] = outer.op === 'Maximum' ? [outerSplit.scalar, innerSplit.scalar] : [innerSplit.scalar, outerSplit.scalar];
    replaced.set(outer.name, { name: outer.name, op: 'ClipByValue', input: [innerSplit.x, lo, hi], attr: outer.attr ?? {} });
    removed.add(inner.name);
  }
  const out: GraphNode[] = [];
  for (const n of nodes) {
    if (removed.has(n.name)) continue;
    out.push(replaced.get(n.name) ?? n);
  }
  return { nodes: out, fused: replaced.size };
}
