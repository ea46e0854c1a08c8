import type { FieldErrorCode } from "./contract.ts";

/**
 * Control characters (C0, DEL, C1) and lone UTF-16 surrogates, or an id of whitespace only.
 * With the u flag a well-formed surrogate pair is one code point, so \p{Cs} matches only a
 * lone half; \s is the set String.prototype.trim removes.
 */
const SUSPECT = /[\p{Cc}\p{Cs}]|^\s+$/u;
const SURROGATE = /\p{Cs}/u;
const CONTROL = /\p{Cc}/u;

/**
 * Why an id's text cannot name anything (a detail to follow the id's name), or null; its length
 * is checked on its own. A lone surrogate has no UTF-8 form, so every encoder substitutes it in
 * its own way: the record key and the Avro value of one event would carry different ids. A
 * control character is invisible in logs, keys and exports, and a blank id names nobody.
 */
export function idTextProblem(value: string): { code: FieldErrorCode; detail: string } | null {
  if (!SUSPECT.test(value)) return null;
  const surrogate = SURROGATE.exec(value);
  if (surrogate !== null) {
    return { code: "ID_LONE_SURROGATE", detail: `holds a lone UTF-16 surrogate (${codePointText(surrogate[0])} at index ${surrogate.index}): not well-formed Unicode` };
  }
  const control = CONTROL.exec(value);
  if (control !== null) return { code: "ID_CONTROL_CHARACTER", detail: `holds the control character ${codePointText(control[0])} at index ${control.index}` };
  return { code: "ID_BLANK", detail: "must not be blank (only whitespace)" };
}

function codePointText(character: string): string {
  return `U+${character.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")}`;
}
