/**
 * A field of the object being judged has the wrong shape (a map that is a
 * string, a list that is an object). Its message is a field path and what is
 * wrong with it, never a value or an object's name, so TG-ENGINE-ERROR shows
 * it to every caller; any other exception's words may name whatever object
 * the engine was reading (another tenant's, too) and are shown to platform
 * readers only (src/engine/index.ts).
 */
export class FieldShapeError extends Error {
  override name = 'FieldShapeError';
}
