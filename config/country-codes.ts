/**
 * ISO 3166-1 alpha-2 country codes, for `directory.homeCountry` and recipients' `countries`.
 * Checked against the real list, not only the shape, because routing keys on exact equality with
 * the country the GeoIP database reports: a recipient for `UK` would silently never be told
 * anything (the code is `GB`).
 */
import { z } from 'zod';

/** The 249 officially assigned codes, plus `XK` (Kosovo), which GeoIP databases report. */
const ASSIGNED = (
  'AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS ' +
  'BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE ' +
  'EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM ' +
  'HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC ' +
  'LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA ' +
  'NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW ' +
  'SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO ' +
  'TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW XK'
).split(' ');

/** Every accepted country code. */
export const COUNTRY_CODES: ReadonlySet<string> = new Set(ASSIGNED);

/** Common mistakes and what was meant. */
const DID_YOU_MEAN: Readonly<Record<string, string>> = { UK: 'GB', EL: 'GR' };

/** Whether `code` is an accepted ISO 3166-1 alpha-2 code (uppercase). */
export function isCountryCode(code: string): boolean {
  return COUNTRY_CODES.has(code);
}

/** The problem with `input` as a country code, or `undefined` if it is one. */
export function countryCodeProblem(input: string): string | undefined {
  if (isCountryCode(input)) return undefined;
  const upper = input.toUpperCase();
  if (isCountryCode(upper)) return `country codes are uppercase: write ${upper}`;
  const meant = DID_YOU_MEAN[upper];
  if (meant !== undefined) return `not an ISO 3166-1 alpha-2 code (did you mean ${meant}?)`;
  return 'expected an ISO 3166-1 alpha-2 country code such as GB or NL';
}

/** An ISO 3166-1 alpha-2 country code, uppercase (`GB`, `NL`). */
export const countryCodeSchema = z.string().superRefine((input, ctx) => {
  const problem = countryCodeProblem(input);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', input, message: problem, params: { showInput: true } });
});

/** A recipient's country: an ISO 3166-1 alpha-2 code, or `*` for the fallback recipient. */
export const recipientCountrySchema = z.string().superRefine((input, ctx) => {
  if (input === '*') return;
  const problem = countryCodeProblem(input);
  if (problem !== undefined) {
    const message = problem.startsWith('expected') ? `${problem}, or "*" for the fallback` : problem;
    ctx.addIssue({ code: 'custom', input, message, params: { showInput: true } });
  }
});
