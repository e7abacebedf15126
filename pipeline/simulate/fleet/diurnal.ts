/**
 * The daily cycle of user traffic: quiet before dawn, rising through the morning, peaking in the
 * afternoon, local time of the region's users; weekends lighter. 1 at the weekday peak.
 */

const HOUR_MS = 3_600_000;
/** Night-time traffic as a share of the afternoon peak (typical of interactive LLM products). */
export const TROUGH = 0.25;
/** Local hour of the lowest and of the highest traffic. */
export const TROUGH_HOUR = 4;
export const PEAK_HOUR = 16;
export const WEEKEND_FACTOR = 0.7;

interface ZoneCache {
  formatter: Intl.DateTimeFormat;
  /** The UTC hour last asked about and the zone's offset then: the simulation asks hour after hour. */
  hour: number;
  offset: number;
}

const zones = new Map<string, ZoneCache>();

/** Minutes the zone is ahead of UTC at the given instant (DST included); zones change offset on the hour. */
export function utcOffsetMinutes(timeZone: string, eventTimeMs: number): number {
  const hour = Math.floor(eventTimeMs / HOUR_MS);
  let zone = zones.get(timeZone);
  if (!zone) {
    const formatter = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric' });
    zones.set(timeZone, (zone = { formatter, hour: Number.NaN, offset: 0 }));
  }
  if (zone.hour !== hour) {
    const at = hour * HOUR_MS;
    const parts = Object.fromEntries(zone.formatter.formatToParts(new Date(at)).map((p) => [p.type, p.value]));
    const localAsUtc = Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute));
    zone.hour = hour;
    zone.offset = Math.round((localAsUtc - at) / 60_000);
  }
  return zone.offset;
}

/** Local wall-clock time of the instant, as fractional hours since local midnight, and the local weekday (0 = Sunday). */
export function localTime(timeZone: string, eventTimeMs: number): { hour: number; weekday: number } {
  const local = eventTimeMs + utcOffsetMinutes(timeZone, eventTimeMs) * 60_000;
  const day = Math.floor(local / (24 * HOUR_MS));
  return { hour: (local - day * 24 * HOUR_MS) / HOUR_MS, weekday: (((day + 4) % 7) + 7) % 7 };
}

/** Traffic at the instant as a share of the weekday afternoon peak, in [TROUGH × WEEKEND_FACTOR, 1]. */
export function loadFactor(timeZone: string, eventTimeMs: number): number {
  const { hour, weekday } = localTime(timeZone, eventTimeMs);
  // A raised cosine from the 04:00 trough to the 16:00 peak, then back down.
  const phase = (2 * Math.PI * (hour - TROUGH_HOUR)) / 24;
  const daily = TROUGH + (1 - TROUGH) * 0.5 * (1 - Math.cos(phase));
  const weekend = weekday === 0 || weekday === 6 ? WEEKEND_FACTOR : 1;
  return daily * weekend;
}
