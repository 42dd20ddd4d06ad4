/**
 * One base class with a stable machine-readable `code` per subclass (the jose model).
 * Messages say what was wrong and what to do; they never echo a secret or a whole token.
 */
export class OfftokenError extends Error {
  /** Stable, machine-readable code, e.g. `ERR_JWT_EXPIRED`. Scripts and the server depend on it. */
  readonly code: string = 'ERR_OFFTOKEN';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }

  toJSON(): { code: string; message: string } {
    return { code: this.code, message: this.message };
  }
}

/** A caller passed an argument of the wrong shape (a programming or usage error, not hostile token input). */
export class InvalidArgumentError extends OfftokenError {
  override readonly code: string = 'ERR_INVALID_ARGUMENT';
}

/** An input exceeded a documented size or depth limit. */
export class InputTooLargeError extends OfftokenError {
  override readonly code: string = 'ERR_INPUT_TOO_LARGE';
}

/** Bytes that should be base64url, base32, hex or JSON are not. */
export class EncodingError extends OfftokenError {
  override readonly code: string = 'ERR_ENCODING_INVALID';
}

export function isOfftokenError(e: unknown): e is OfftokenError {
  return e instanceof OfftokenError;
}
