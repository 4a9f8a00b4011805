/**
 * Device identifiers as operators type them: ICCIDs (19–20 digits, Luhn check digit last) and
 * MSISDNs (7–15 digits, E.164 without '+').
 */

export function isValidLuhn(digits: string): boolean {
  if (!/^\d+$/.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i += 1) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

export function isIccid(value: string): boolean {
  return /^\d{19,20}$/.test(value) && isValidLuhn(value);
}

export function isMsisdn(value: string): boolean {
  return /^\d{7,15}$/.test(value);
}

const DIGITS = /^\d+$/;

/** Strips what people paste around identifiers: spaces, dashes, a leading '+'. */
export function normaliseIdentifier(raw: string): string {
  // What is sent is nearly always digits already: nothing to strip, nothing to allocate.
  if (DIGITS.test(raw)) return raw;
  return raw.trim().replace(/^\+/, '').replace(/[\s-]/g, '');
}

/** The digit that makes `payload + digit` pass the Luhn check. */
export function luhnCheckDigit(payload: string): string {
  for (let digit = 0; digit <= 9; digit += 1) if (isValidLuhn(`${payload}${digit}`)) return String(digit);
  throw new Error(`not a digit string: ${payload}`);
}
