import { type Clock, systemClock } from '../clock.js';
import { InvalidArgumentError } from '../errors/base.js';
import { ConditionFailedError } from '../errors/dpop.js';

export interface TimeWindow {
  /** Unix seconds: the window opens at this instant. */
  notBefore?: number;
  /** Unix seconds: the window closes at this instant (exclusive). */
  notAfter?: number;
  /** Days of week allowed, 0 = Sunday ... 6 = Saturday, in `utcOffsetMinutes` local time. */
  days?: number[];
  /** Local hours allowed as [startHour, endHour) with 0 <= start < end <= 24; e.g. [9, 17]. */
  hours?: [number, number];
  /** Offset of the local time from UTC in minutes (e.g. 60 for UTC+1). Default 0. Fixed offset: no DST rules. */
  utcOffsetMinutes?: number;
}

function validate(w: TimeWindow): void {
  const off = w.utcOffsetMinutes ?? 0;
  if (!Number.isInteger(off) || Math.abs(off) > 14 * 60)
    throw new InvalidArgumentError('utcOffsetMinutes must be an integer within +/-840');
  if (w.days && (!Array.isArray(w.days) || w.days.some((d) => !Number.isInteger(d) || d < 0 || d > 6))) {
    throw new InvalidArgumentError('days must be integers 0..6');
  }
  if (w.hours) {
    const [s, e] = w.hours;
    if (!Number.isInteger(s) || !Number.isInteger(e) || s < 0 || e > 24 || s >= e) {
      throw new InvalidArgumentError('hours must be [start, end) with 0 <= start < end <= 24');
    }
  }
}

/** Throws ERR_CONDITION_FAILED (condition `time:<part>`) unless the clock's instant is inside the window. */
export function checkTimeWindow(w: TimeWindow, clock: Clock = systemClock): void {
  validate(w);
  const now = clock();
  if (w.notBefore !== undefined && now < w.notBefore) {
    throw new ConditionFailedError('the time window has not opened yet', { condition: 'time:notBefore' });
  }
  if (w.notAfter !== undefined && now >= w.notAfter) {
    throw new ConditionFailedError('the time window has closed', { condition: 'time:notAfter' });
  }
  const local = new Date(Math.floor(now * 1000) + (w.utcOffsetMinutes ?? 0) * 60_000);
  if (w.days && !w.days.includes(local.getUTCDay())) {
    throw new ConditionFailedError('not allowed on this day of the week', { condition: 'time:days' });
  }
  if (w.hours) {
    const h = local.getUTCHours();
    if (h < w.hours[0] || h >= w.hours[1]) {
      throw new ConditionFailedError('not allowed at this hour', { condition: 'time:hours' });
    }
  }
}
