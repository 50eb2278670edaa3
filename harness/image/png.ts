// A strict PNG reader for checking files a child process wrote: pngjs decodes the whole stream (every
// chunk's CRC, the zlib data), where a header read would pass a truncated file.
import { PNG } from 'pngjs';

/** The size of a valid PNG; throws when `bytes` are not a complete, decodable PNG. */
export function decodedPngSize(bytes: Buffer): { width: number; height: number } {
  const png = PNG.sync.read(bytes);
  return { width: png.width, height: png.height };
}
