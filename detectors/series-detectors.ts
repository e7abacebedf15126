import { ChangePointScorer, DEFAULT_CHANGE_POINT_SCORER, type PointScore } from './change-point-scorer.js';
import { LIVE_CHANGE_POINT_SCORER } from './change-point.js';

/** A detector of a bare `timestamp,value` series, scored point by point with no look-ahead. */
export interface SeriesDetector {
  score(timestamp: number, value: number): PointScore;
}

/** The series detectors `costline detect --detector` and the benchmarks can run, by name. */
export const SERIES_DETECTORS: Readonly<Record<string, { describe: string; create: () => SeriesDetector }>> = {
  'change-point': {
    describe: 'the general-purpose detector with its defaults for a series of any step (stated for 5-minute points: a one-day baseline, rare relative to two days and not a repeat of the last four weeks)',
    create: () => new ChangePointScorer(DEFAULT_CHANGE_POINT_SCORER),
  },
  'change-point-live': {
    describe: 'the same detector with the settings the live pipeline uses on one-minute windows (a two-hour baseline, rare relative to twelve hours)',
    create: () => new ChangePointScorer(LIVE_CHANGE_POINT_SCORER),
  },
};

export const DEFAULT_SERIES_DETECTOR = 'change-point';

/** The detector by name; the error lists the names there are. */
export function createSeriesDetector(name: string = DEFAULT_SERIES_DETECTOR): SeriesDetector {
  const entry = SERIES_DETECTORS[name];
  if (!entry) throw new Error(`unknown detector "${name}": use one of ${Object.keys(SERIES_DETECTORS).join(', ')}`);
  return entry.create();
}
