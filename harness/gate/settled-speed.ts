import { measureCalibrationMs, type HostSpeed } from '../common/speed';

/** Per lab's host speed: the best calibration seen so far, ms. */
const best = new WeakMap<HostSpeed, number>();

/**
 * The host speed factor to normalise a round of boots by: the lab's, lowered when a
 * calibration taken now runs faster. One calibration at lab start reads the load of that
 * moment as much as the CPU (here: 0.97 on a quiet moment, 2.03 while another lab
 * started); the best of several over the run comes closest to the CPU itself. Call it
 * after a round's boots, while the guests idle at their login prompts.
 */
export function settledSpeedFactor(speed: HostSpeed, measure: () => number = measureCalibrationMs): number {
  const ms = Math.min(best.get(speed) ?? speed.calibrationMs, measure());
  best.set(speed, ms);
  return Math.round(speed.factor * Math.min(1, ms / speed.calibrationMs) * 100) / 100;
}
