import { Random } from '../random.js';

/**
 * One random stream per entity (replica set, node, trace), derived from the run's seed and the
 * entity's name. An incident that changes one entity's draws never shifts another's: the events
 * of every key it does not touch stay identical to a run without it.
 */
export function streamFor(seed: number, name: string): Random {
  return new Random(hash32(`${seed}\u0000${name}`));
}

/** FNV-1a, 32 bits, with a final avalanche: stable across runs and platforms. */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Lower-case hex digits from a name, for ids that look like the provider's (i-0abc..., vmss suffixes). */
export function hexId(name: string, digits: number): string {
  let out = '';
  for (let round = 0; out.length < digits; round++) out += hash32(`${round}:${name}`).toString(16).padStart(8, '0');
  return out.slice(0, digits);
}

/** Poisson-distributed count with the given mean (Knuth for small means, normal approximation above 30). */
export function poisson(random: Random, mean: number): number {
  if (mean <= 0) return 0;
  if (mean > 30) return Math.max(0, Math.round(mean + Math.sqrt(mean) * random.normal()));
  const limit = Math.exp(-mean);
  let k = 0;
  let p = random.next();
  while (p > limit) {
    k++;
    p *= random.next();
  }
  return k;
}

/** Exponentially distributed value with the given rate (mean 1/rate), from one uniform draw. */
export function exponential(uniform: number, rate: number): number {
  return -Math.log(1 - Math.min(uniform, 1 - Number.EPSILON)) / rate;
}

/** Log-normal value from one standard-normal draw: the caller controls how many draws it spends. */
export function logNormalFrom(normal: number, median: number, sigma: number): number {
  return median * Math.exp(sigma * normal);
}
