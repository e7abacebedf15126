import { describe, expect, it } from 'vitest';
import { TailCalibration } from '../../../detectors/tail-calibration.js';
import { Random } from './builders.js';

/** A recent history of 100 statistics and a memory of 20 blocks of 10. */
function calibration(): TailCalibration {
  return new TailCalibration({ capacity: 100, tailFraction: 0.05, minHistory: 50, peakBlocks: 20, peakBlockPoints: 10 });
}

/** Feeds 200 standard-normal statistics with a peak of 40 at each of the given positions. */
function feed(target: TailCalibration, peaksAt: number[]): void {
  const random = new Random(3);
  for (let i = 0; i < 200; i += 1) target.add(peaksAt.includes(i) ? 40 : random.normal());
}

describe('tail calibration', () => {
  it('floors the tail probability of a statistic the remembered blocks keep reaching, long after the recent history forgot it', () => {
    const recurring = calibration();
    feed(recurring, [5, 25, 45, 65]);
    // Four blocks of the 20 remembered (200 points) reached 40; the first does not count.
    expect(recurring.tailProbability(40)).toBeCloseTo(3 / 200, 12);
  });

  it('takes an event seen in only one past block as still rare', () => {
    const once = calibration();
    feed(once, [5]);
    expect(once.tailProbability(40)).toBeLessThan(1e-6);
  });

  it('keeps the observed statistic in its peaks when the recent history is given a winsorized one', () => {
    const winsorized = calibration();
    const random = new Random(3);
    for (let i = 0; i < 200; i += 1) {
      const peak = [5, 25, 45, 65].includes(i);
      winsorized.add(peak ? 3 : random.normal(), peak ? 40 : undefined);
    }
    expect(winsorized.tailProbability(40)).toBeCloseTo(3 / 200, 12);
  });
});
