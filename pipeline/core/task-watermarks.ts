/**
 * Stage 2's watermark: the lowest watermark among the stage-1 tasks it expects, each reported by
 * the markers tasks broadcast. A task not heard from holds it back (its data may still come); an
 * idle task does not. Never moves backwards.
 */
export class TaskWatermarks {
  private readonly tasks = new Map<number, { watermark: number; idle: boolean }>();
  private current = Number.NEGATIVE_INFINITY;

  constructor(private readonly expectedTasks: number) {}

  report(task: number, watermark: number, idle: boolean): void {
    const previous = this.tasks.get(task);
    const value = watermark < 0 ? Number.NEGATIVE_INFINITY : watermark;
    this.tasks.set(task, { watermark: Math.max(previous?.watermark ?? Number.NEGATIVE_INFINITY, value), idle });
  }

  advance(): number {
    let lowest = Number.POSITIVE_INFINITY;
    let highest = Number.NEGATIVE_INFINITY;
    for (let task = 0; task < this.expectedTasks; task++) {
      const state = this.tasks.get(task);
      if (!state) return this.current;
      if (state.watermark > highest) highest = state.watermark;
      if (!state.idle && state.watermark < lowest) lowest = state.watermark;
    }
    const basis = lowest === Number.POSITIVE_INFINITY ? highest : lowest;
    if (basis > this.current) this.current = basis;
    return this.current;
  }

  get value(): number {
    return this.current;
  }
}
