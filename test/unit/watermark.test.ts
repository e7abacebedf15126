import { describe, expect, it } from 'vitest';
import { WatermarkTracker } from '../../pipeline/core/watermark.js';

describe('WatermarkTracker', () => {
  it('is the slowest partition minus the allowed out-of-orderness', () => {
    const w = new WatermarkTracker(5_000, 10_000);
    w.observe('t:0', 100_000, 0);
    w.observe('t:1', 40_000, 0);
    expect(w.advance(0)).toBe(35_000);
  });

  it('stops waiting for a caught-up partition that has been silent longer than the idle timeout', () => {
    const w = new WatermarkTracker(5_000, 10_000);
    w.observe('t:0', 100_000, 0);
    w.observe('t:1', 40_000, 0);
    w.setCaughtUp('t:1', true);
    w.observe('t:0', 120_000, 11_000);
    expect(w.advance(11_000)).toBe(115_000);
  });

  it('never moves backwards', () => {
    const w = new WatermarkTracker(0, 10_000);
    w.observe('t:0', 100_000, 0);
    expect(w.advance(0)).toBe(100_000);
    w.observe('t:1', 10_000, 1);
    expect(w.advance(1)).toBe(100_000);
  });
});

describe('WatermarkTracker with assigned partitions', () => {
  it('is held back by an assigned partition that has not been read yet (a backlog after restart)', () => {
    const w = new WatermarkTracker(5_000, 10_000);
    w.assign('t:0', 0);
    w.assign('t:1', 0);
    w.observe('t:0', 600_000, 1);
    expect(w.advance(1)).toBe(Number.NEGATIVE_INFINITY);
    w.observe('t:1', 30_000, 2);
    expect(w.advance(2)).toBe(25_000);
  });

  it('never treats a partition with unread records as idle, however long it takes', () => {
    const w = new WatermarkTracker(0, 10_000);
    w.observe('t:0', 100_000, 0);
    w.observe('t:1', 20_000, 0);
    w.setCaughtUp('t:1', false);
    w.observe('t:0', 200_000, 60_000);
    expect(w.advance(60_000)).toBe(20_000);
    w.setCaughtUp('t:1', true);
    expect(w.advance(60_000)).toBe(200_000);
  });

  it('lets an assigned partition that never shows data go idle after the timeout', () => {
    const w = new WatermarkTracker(0, 10_000);
    w.assign('t:0', 0);
    w.assign('t:1', 0);
    w.observe('t:0', 100_000, 0);
    expect(w.advance(5_000)).toBe(Number.NEGATIVE_INFINITY);
    w.observe('t:0', 100_000, 11_000);
    expect(w.advance(11_000)).toBe(100_000);
  });
});
