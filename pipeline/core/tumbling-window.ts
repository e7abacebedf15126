/** Event-time tumbling windows: [start, start + size), aligned to the epoch. */
export function windowStartOf(eventTimeMs: number, sizeMs: number): number {
  const remainder = eventTimeMs % sizeMs;
  return remainder >= 0 ? eventTimeMs - remainder : eventTimeMs - remainder - sizeMs;
}
