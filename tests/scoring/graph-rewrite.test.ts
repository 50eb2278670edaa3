import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeImage } from '../../harness/image/index.ts';
import { fuseScalarClips, type GraphNode } from '../../harness/scoring/graph-rewrite.ts';
import { readGraphModel } from '../../harness/scoring/model-files.ts';
import { humanModelPath, loadHuman } from '../../harness/scoring/models.ts';

const scalar = (name: string): GraphNode => ({ name, op: 'Const', attr: { value: { tensor: { dtype: 'DT_FLOAT', tensorShape: {} } } } });
const vector = (name: string): GraphNode => ({ name, op: 'Const', attr: { value: { tensor: { dtype: 'DT_FLOAT', tensorShape: { dim: [{ size: '3' }] } } } } });

describe('fuseScalarClips', () => {
  it('turns Maximum(Minimum(x, hi), lo) into ClipByValue(x, lo, hi) and leaves other graphs alone', () => {
    const nodes: GraphNode[] = [
      { name: 'x', op: 'Placeholder' },
      scalar('six'),
      scalar('zero'),
      { name: 'relu', op: 'Relu', input: ['x'] },
      { name: 'clip/Minimum', op: 'Minimum', input: ['relu', 'six'] },
      { name: 'clip', op: 'Maximum', input: ['clip/Minimum', 'zero'] },
      { name: 'out', op: 'Identity', input: ['clip'] },
    ];
    const { nodes: out, fused } = fuseScalarClips(nodes);
    expect(fused).toBe(1);
    expect(out.map((n) => n.name)).toEqual(['x', 'six', 'zero', 'relu', 'clip', 'out']);
    expect(out.find((n) => n.name === 'clip')).toMatchObject({ op: 'ClipByValue', input: ['relu', 'zero', 'six'] });
    // the other order: Minimum(Maximum(x, lo), hi)
    const swapped = fuseScalarClips([{ name: 'x', op: 'Placeholder' }, scalar('lo'), scalar('hi'), { name: 'm', op: 'Maximum', input: ['lo', 'x'] }, { name: 'c', op: 'Minimum', input: ['m', 'hi'] }]);
    expect(swapped.nodes.at(-1)).toMatchObject({ name: 'c', op: 'ClipByValue', input: ['x', 'lo', 'hi'] });
  });

  it('keeps an inner op that something else reads, and tensor (not scalar) bounds', () => {
    const shared = [{ name: 'x', op: 'Placeholder' }, scalar('hi'), scalar('lo'), { name: 'min', op: 'Minimum', input: ['x', 'hi'] }, { name: 'max', op: 'Maximum', input: ['min', 'lo'] }, { name: 'other', op: 'Relu', input: ['min'] }];
    expect(fuseScalarClips(shared).fused).toBe(0);
    const tensorBound = [{ name: 'x', op: 'Placeholder' }, vector('hi'), scalar('lo'), { name: 'min', op: 'Minimum', input: ['x', 'hi'] }, { name: 'max', op: 'Maximum', input: ['min', 'lo'] }];
    expect(fuseScalarClips(tensorBound).fused).toBe(0);
  });

  it('FaceRes gives bit-identical outputs with its 27 clips fused', async () => {
    const human = await loadHuman();
    const tf = human.tf as unknown as {
      loadGraphModel(handler: { load(): Promise<unknown> }): Promise<{ execute(x: unknown): { data(): Promise<Float32Array> }[] }>;
      tidy<T>(fn: () => T): T;
      tensor4d(values: Float32Array, shape: number[]): unknown;
    };
    const file = humanModelPath('faceres.json');
    const shipped = await readGraphModel(file, { rewrite: false });
    expect(fuseScalarClips((shipped.modelTopology as { node: GraphNode[] }).node).fused).toBe(27);
    const raw = await tf.loadGraphModel({ load: async () => shipped });
    const fused = await tf.loadGraphModel({ load: () => readGraphModel(file) });
    const face = await decodeImage(path.resolve('tests/fixtures/faces/grace_hopper.jpg'), { maxSide: 224 });
    const pixels = new Float32Array(224 * 224 * 3);
    for (let y = 0; y < 224; y++) for (let x = 0; x < 224; x++) for (let c = 0; c < 3; c++) pixels[(y * 224 + x) * 3 + c] = face.data[(Math.min(y, face.height - 1) * face.width + Math.min(x, face.width - 1)) * 3 + c]! / 255;
    const input = tf.tensor4d(pixels, [1, 224, 224, 3]);
    const a = await Promise.all(raw.execute(input).map((t) => t.data()));
    const b = await Promise.all(fused.execute(input).map((t) => t.data()));
    expect(a.map((d) => d.length)).toEqual([1, 1024, 100]);
    expect(b).toEqual(a);
    expect(a[1]!.some((v) => v !== 0)).toBe(true);
  });
});
