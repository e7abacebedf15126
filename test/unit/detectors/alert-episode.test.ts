import { describe, expect, it } from 'vitest';
import { AlertEpisode, type Verdict } from '../../../detectors/index.js';
import type { Severity } from '../../../schemas/index.js';
import { MIN, T0 } from './builders.js';

const window = (i: number) => ({ rule: 'r', key: 'k', dimensions: {}, windowStart: T0 + i * MIN, windowEnd: T0 + (i + 1) * MIN });
const verdict = (breaching: boolean, severity: Severity = 'warning'): Verdict => ({
  breaching,
  severity,
  metric: 'm',
  observed: 1,
  baseline: 0,
  score: 1,
  evidence: 'e',
});

/** Feeds the verdicts one window each; returns "window:status:severity" for every message. */
function messages(verdicts: Verdict[], episode = new AlertEpisode({ fireAfter: 2, resolveAfter: 2 })): string[] {
  return verdicts.flatMap((v, i) => {
    const alert = episode.step(window(i), v);
    return alert ? [`${i}:${alert.status}:${alert.severity}`] : [];
  });
}

describe('alert episode', () => {
  it('fires after fireAfter breaching windows in a row', () => {
    expect(messages([verdict(true), verdict(false), verdict(true), verdict(true)])).toEqual(['3:firing:warning']);
  });

  it('keeps one episode through a severity rise: the rise re-notifies under the same id', () => {
    const episode = new AlertEpisode({ fireAfter: 1, resolveAfter: 2 });
    const alerts = [verdict(true, 'info'), verdict(true, 'info'), verdict(true, 'warning'), verdict(true, 'warning')].flatMap((v, i) => episode.step(window(i), v) ?? []);
    expect(alerts.map((a) => [a.status, a.severity, a.sequence])).toEqual([
      ['firing', 'info', 0],
      ['updated', 'warning', 1],
    ]);
    expect(alerts[1]!.alert_id).toBe(alerts[0]!.alert_id);
  });
});
