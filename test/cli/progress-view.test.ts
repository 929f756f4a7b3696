import { Writable } from 'node:stream';
import type { Progress } from '../../src/common/progress';
import { formatDuration } from '../../src/common/duration';
import { createProgressView, foldSteps, formatStep, palette } from '../../src/cli/progress-view';

function collector(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { stream, text: () => chunks.join('') };
}

const T0 = Date.parse('2026-01-31T07:00:00.000Z');
const at = (ms: number) => new Date(T0 + ms).toISOString();

function progress(steps: Progress['steps'], state: Progress['state'] = 'running'): Progress {
  return { kind: 'deploy', app: 'almareia', state, steps };
}

describe('progress view', () => {
  it('formats durations the way people read them', () => {
    expect([850, 12_345, 245_000, 3_720_000].map(formatDuration)).toEqual(['850ms', '12.3s', '4m05s', '1h02m']);
  });

  it('shows a running step with the time since it started, a finished one with its duration and message', () => {
    expect(formatStep({ name: 'install', status: 'running', startedAt: at(0) }, T0 + 2_500)).toBe(
      '  ▸ install  running  2.5s',
    );
    expect(
      formatStep(
        { name: 'health: home', status: 'failed', durationMs: 8_000, message: 'answered 500' },
        T0,
        undefined,
        14,
      ),
    ).toBe('  ✗ health: home    failed  8.0s  answered 500');
    expect(formatStep({ name: 'seed', status: 'pending' }, T0)).toBe('  · seed  pending');
  });

  it('colours by status only when asked', () => {
    const coloured = formatStep({ name: 'install', status: 'succeeded', durationMs: 10 }, T0, palette(true));
    expect(coloured).toContain('\u001b[32m✓\u001b[39m');
    expect(formatStep({ name: 'install', status: 'succeeded', durationMs: 10 }, T0, palette(false))).not.toContain(
      '\u001b[',
    );
  });

  it('as plain lines, prints a step only when its status or message changed, never pending steps', () => {
    const out = collector();
    const view = createProgressView(out.stream, { live: false, now: () => T0 + 1_000 });
    view.update(
      progress([
        { name: 'snapshot', status: 'running', startedAt: at(0) },
        { name: 'install', status: 'pending' },
      ]),
    );
    view.update(
      progress([
        { name: 'snapshot', status: 'running', startedAt: at(0) },
        { name: 'install', status: 'pending' },
      ]),
    );
    view.update(
      progress([
        { name: 'snapshot', status: 'succeeded', durationMs: 900 },
        { name: 'install', status: 'running', startedAt: at(900) },
      ]),
    );
    view.update(
      progress([
        { name: 'snapshot', status: 'succeeded', durationMs: 900 },
        { name: 'approval', status: 'waiting', startedAt: at(950), message: 'approve me' },
      ]),
    );
    view.finish();
    expect(out.text()).toBe(
      [
        '  ▸ snapshot  running  1.0s',
        '  ✓ snapshot  succeeded  900ms',
        '  ▸ install  running  100ms',
        '  ⏸ approval  waiting  50ms  approve me',
        '  waiting for approval',
        '',
      ].join('\n'),
    );
  });

  it('on a terminal, redraws the block in place: cursor up over the old lines, each line cleared, cut to the width', () => {
    const out = collector();
    const view = createProgressView(out.stream, {
      live: true,
      now: () => T0 + 1_000,
      columns: 30,
      workflowId: 'deploy-almareia',
    });
    view.update(
      progress([
        { name: 'snapshot', status: 'running', startedAt: at(0) },
        { name: 'install', status: 'pending' },
      ]),
    );
    const first = out.text();
    expect(first).toBe('\u001b[?25l\u001b[2K  ▸ snapshot  running  1.0s\n\u001b[2K  · install   pending\n');
    view.update(
      progress([
        { name: 'snapshot', status: 'succeeded', durationMs: 900, message: 'archived 12 files into almareia.zip' },
        { name: 'install', status: 'running', startedAt: at(900) },
      ]),
    );
    const second = out.text().slice(first.length);
    expect(second.startsWith('\u001b[2A')).toBe(true);
    const lines = second.slice('\u001b[2A'.length).split('\n');
    expect(lines[0]).toBe('\u001b[2K  ✓ snapshot  succeeded  900m\u001b[0m');
    expect(lines[1]).toBe('\u001b[2K  ▸ install   running  100ms');
    view.update(progress([{ name: 'approval', status: 'waiting', startedAt: at(950) }], 'waiting-approval'));
    expect(out.text()).toContain('\u001b[2K  waiting for approval: runbo\u001b[0m\n');
    view.finish();
    expect(out.text().endsWith('\u001b[?25h')).toBe(true);
  });
});

describe('a live block taller than the terminal', () => {
  const step = (name: string, status: Progress['steps'][number]['status']) => ({ name, status });
  const steps = [
    step('a', 'succeeded'),
    step('b', 'succeeded'),
    step('c', 'succeeded'),
    step('d', 'running'),
    step('e', 'pending'),
    step('f', 'pending'),
  ];

  it('folds the oldest finished steps into one line first', () => {
    expect(foldSteps(steps, 6)).toEqual({ steps, hiddenDone: 0, hiddenLater: 0 });
    const folded = foldSteps(steps, 5);
    expect(folded).toMatchObject({ hiddenDone: 2, hiddenLater: 0 });
    expect(folded.steps.map((s) => s.name)).toEqual(['c', 'd', 'e', 'f']);
  });

  it('then leaves out the last steps, keeping the one running in view', () => {
    const folded = foldSteps(steps, 3);
    expect(folded).toMatchObject({ hiddenDone: 3, hiddenLater: 2 });
    expect(folded.steps.map((s) => s.name)).toEqual(['d']);
  });

  it('redraws folded, and prints every step in its last frame', () => {
    const out = collector();
    const view = createProgressView(out.stream, { live: true, rows: 5, now: () => T0 });
    view.update(progress(steps));
    expect(out.text()).toContain('  ✓ 3 earlier step(s) done\n');
    expect(out.text()).toContain('  … 2 more step(s)\n');
    view.finish();
    const last = out.text().slice(out.text().lastIndexOf('\u001b[3A'));
    for (const name of ['a', 'b', 'c', 'd', 'e', 'f']) expect(last).toMatch(new RegExp(`\\u001b\\[2K {2}\\S ${name} `));
  });
});
