import { writeFile } from 'node:fs/promises';
import { InputTooLargeError, InvalidArgumentError } from '../errors/base.js';

/*
 * QR codes for enrolment (the `qrcode` package). Medium error correction (ECC M, ~15%) keeps a 64-byte-secret
 * URI at a size phones read from a terminal; the content is the URI only, so it is as secret as the secret.
 */
export type QrFormat = 'terminal' | 'svg' | 'png';

/** Longest text put in a QR code (a version-40 code at ECC M holds 2331 bytes). */
export const MAX_QR_TEXT = 2048;

/** Throws what `renderQr` would (ERR_INPUT_TOO_LARGE above MAX_QR_TEXT bytes), without drawing anything. */
export function checkQrText(text: string): void {
  if (typeof text !== 'string' || text.length === 0)
    throw new InvalidArgumentError('QR text must be a string');
  if (Buffer.byteLength(text, 'utf8') > MAX_QR_TEXT)
    throw new InputTooLargeError(`QR text is longer than ${MAX_QR_TEXT} bytes`);
}

/** Renders `text` (an otpauth:// URI) as a QR code: terminal block characters, an SVG document, or PNG bytes. */
export async function renderQr(text: string, format: 'terminal' | 'svg'): Promise<string>;
export async function renderQr(text: string, format: 'png'): Promise<Buffer>;
export async function renderQr(text: string, format: QrFormat): Promise<string | Buffer> {
  checkQrText(text);
  // Loaded on first use: only enrolment draws QR codes.
  const { default: QRCode } = await import('qrcode');
  switch (format) {
    case 'terminal':
      return QRCode.toString(text, { type: 'terminal', small: true, errorCorrectionLevel: 'M' });
    case 'svg':
      return QRCode.toString(text, { type: 'svg', margin: 4, errorCorrectionLevel: 'M' });
    case 'png':
      return QRCode.toBuffer(text, { type: 'png', margin: 4, scale: 6, errorCorrectionLevel: 'M' });
    default:
      throw new InvalidArgumentError('QR format must be terminal, svg or png');
  }
}

/** Writes a QR code of `text` to `file` as PNG or SVG, readable by the owner only (it holds the secret). */
export async function writeQrFile(text: string, file: string, format: 'svg' | 'png'): Promise<void> {
  const data = format === 'png' ? await renderQr(text, 'png') : await renderQr(text, 'svg');
  await writeFile(file, data, { mode: 0o600 });
}
