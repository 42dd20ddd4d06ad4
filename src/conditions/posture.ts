import { ConditionFailedError } from '../errors/dpop.js';

/** Device posture: claim name -> required value, or a list of accepted values. */
export type PostureRequirement = Record<
  string,
  string | number | boolean | ReadonlyArray<string | number | boolean>
>;

/**
 * Throws ERR_CONDITION_FAILED (condition `posture:<claim>`) unless every required claim is present with an
 * accepted value. Only primitive equality: a posture claim that is an object or array never matches by accident.
 */
export function checkDevicePosture(
  claims: Record<string, unknown> | undefined,
  required: PostureRequirement,
): void {
  for (const [name, want] of Object.entries(required)) {
    const got = claims && Object.hasOwn(claims, name) ? claims[name] : undefined;
    const accepted = Array.isArray(want) ? want : [want];
    const ok =
      (typeof got === 'string' || typeof got === 'number' || typeof got === 'boolean') &&
      accepted.includes(got);
    if (!ok) {
      throw new ConditionFailedError(`device posture claim "${name}" does not have a required value`, {
        condition: `posture:${name}`,
      });
    }
  }
}
