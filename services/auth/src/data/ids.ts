/** A 24-hex ObjectId string (ObjectId.isValid also accepts any 12-character string, which ids never are). */
export function isObjectIdHex(id: string): boolean {
  return /^[0-9a-f]{24}$/i.test(id);
}
