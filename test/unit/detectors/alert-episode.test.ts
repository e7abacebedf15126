import { describe, expect, it } from 'vitest';
import { AlertEpisode, type Verdict } from '../../../detectors/index.js';
import type { Severity } from '../../../schemas/index.js';
import { MIN, T0 } from './builders.js';

const window = (i: number) => ({ rule: 'r', key: 'k', dimensions: {}, windowStart: T0 + i * MIN, windowEnd: T0 + (i + 1) * MIN });
const verdict = (breaching: boolean, severity: Severity = 'warning', leaning = false): Verdict => ({
  breaching,
  leaning,
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

  it('counts a leaning window right before a breach as the onset: fires on the breach, the episode starting at the onset', () => {
    const episode = new AlertEpisode({ fireAfter: 2, resolveAfter: 2 });
    const alerts = [verdict(false), verdict(false, 'warning', true), verdict(true)].flatMap((v, i) => episode.step(window(i), v) ?? []);
    expect(alerts.map((a) => [a.status, a.window_start, a.episode_start])).toEqual([['firing', window(2).windowStart, window(1).windowStart]]);
  });

  it('does not fire on leaning windows alone, on one breach after a gap, or on a breach two windows after the lean', () => {
    const lean = verdict(false, 'warning', true);
    expect(messages([lean, lean, lean, verdict(false)])).toEqual([]);
    expect(messages([lean, verdict(false), verdict(true), verdict(false)])).toEqual([]);
    const episode = new AlertEpisode({ fireAfter: 2, resolveAfter: 2 });
    expect(episode.step(window(0), lean)).toBeUndefined();
    expect(episode.step(window(2), verdict(true)), 'window 1 is missing').toBeUndefined();
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
