// A small seeded PRNG (mulberry32) and helpers, so randomised tests replay exactly from their seed.

export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A random source with the usual picks. */
export function random(seed) {
  const next = mulberry32(seed);
  const int = (n) => Math.floor(next() * n);
  return {
    next,
    int,
    chance: (p) => next() < p,
    pick: (list) => list[int(list.length)],
    /** A random subset of `list` (order kept), of size between min and max. */
    subset(list, min = 0, max = list.length) {
      const size = min + int(max - min + 1);
      const shuffled = [...list]
        .map((x) => [next(), x])
        .sort((a, b) => a[0] - b[0])
        .slice(0, size)
        .map(([, x]) => x);
      return list.filter((x) => shuffled.includes(x));
    },
  };
}
