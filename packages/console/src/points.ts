import type { Snapshot } from './api-types.js';

/** 15 minutes at one point per second: what the server's history holds, and what the charts show. */
export const MAX_POINTS = 900;

/**
 * Appends a snapshot to the chart's points: in time order (a point not newer
 * than the last is dropped, so a duplicate after a reconnect cannot draw a
 * line backwards), keeping at most MAX_POINTS. Returns a new array (Preact
 * compares by identity).
 */
export function appendPoint(points: Snapshot[], point: Snapshot): Snapshot[] {
  const last = points[points.length - 1];
  if (last && Date.parse(last.at) >= Date.parse(point.at)) return points;
  const next = points.length >= MAX_POINTS ? points.slice(points.length - MAX_POINTS + 1) : points.slice();
  next.push(point);
  return next;
}
