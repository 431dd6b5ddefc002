/** Time, as a port: core rules take `now` as an argument; edges read it from a Clock. */
export interface Clock {
  now(): Date;
}

/** A source of uniform random numbers in [0, 1), as a port (jitter, back-off). */
export type RandomSource = () => number;
