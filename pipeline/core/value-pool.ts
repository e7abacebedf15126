/**
 * One copy of each distinct dimension value. Keys repeat values (a region serves every model, a
 * model runs in every region), but each decoded event brings its own copy of every string; a key
 * built from pooled values holds shared strings instead of three of its own. Bounded by its
 * owner, which clears it with the keys built from it.
 */
export class ValuePool {
  private readonly values = new Map<string, string>();

  intern(value: string): string {
    const pooled = this.values.get(value);
    if (pooled !== undefined) return pooled;
    this.values.set(value, value);
    return value;
  }

  clear(): void {
    this.values.clear();
  }
}
